package pipeline

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// DeadLetter is input that could not be decoded, or a finding a sink
// rejected for good. Its JSON form is the contract in DESIGN.md.
type DeadLetter struct {
	Time   time.Time
	Reason string // a short code: "invalid-json", "bad-record", "sink-rejected", ...
	Error  string // the message, saying where
	Source Source
	Raw    []byte
}

// MarshalJSON writes {time, reason, error, source, raw[, rawEncoding]}; raw
// that is not valid UTF-8 is base64 with rawEncoding "base64".
func (d DeadLetter) MarshalJSON() ([]byte, error) {
	type out struct {
		Time        string `json:"time"`
		Reason      string `json:"reason"`
		Error       string `json:"error"`
		Source      Source `json:"source"`
		Raw         string `json:"raw"`
		RawEncoding string `json:"rawEncoding,omitempty"`
	}
	o := out{Time: FormatDateTime(d.Time), Reason: d.Reason, Error: d.Error, Source: d.Source}
	if utf8.Valid(d.Raw) {
		o.Raw = string(d.Raw)
	} else {
		o.Raw = base64.StdEncoding.EncodeToString(d.Raw)
		o.RawEncoding = "base64"
	}
	return json.Marshal(o)
}
