package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
)

// Column is one output column of a finding, in the query's output order.
type Column struct {
	Name  string
	Type  table.Type
	Value table.Value
}

// Columns is an ordered set of output columns; it encodes as a JSON object
// whose keys keep that order.
type Columns []Column

// Get returns the named column's value.
func (cs Columns) Get(name string) (table.Value, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c.Value, true
		}
	}
	return table.Null, false
}

// MarshalJSON encodes the columns as an ordered JSON object.
func (cs Columns) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c.Name)
		b.Write(k)
		b.WriteByte(':')
		b.Write(AppendValueJSON(nil, c.Type, c.Value))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// AppendValueJSON appends the JSON form of a value of the given column type,
// as DESIGN.md states: strings never null, numbers as numbers, dynamic as
// JSON, datetime as RFC 3339 with 7 fractional digits, timespan as Kusto
// prints it.
func AppendValueJSON(dst []byte, typ table.Type, v table.Value) []byte {
	switch v.K {
	case table.KindNull:
		if typ == table.TypeString || typ == table.TypeGUID {
			return append(dst, `""`...)
		}
		return append(dst, "null"...)
	case table.KindString:
		s, _ := json.Marshal(v.S)
		return append(dst, s...)
	case table.KindBool:
		return strconv.AppendBool(dst, v.I != 0)
	case table.KindInt, table.KindLong:
		return strconv.AppendInt(dst, v.I, 10)
	case table.KindReal:
		// JSON has no infinity or NaN: they are written as the strings
		// Kusto prints for them.
		switch {
		case math.IsNaN(v.F):
			return append(dst, `"NaN"`...)
		case math.IsInf(v.F, 1):
			return append(dst, `"Infinity"`...)
		case math.IsInf(v.F, -1):
			return append(dst, `"-Infinity"`...)
		}
		return strconv.AppendFloat(dst, v.F, 'g', -1, 64)
	case table.KindDateTime:
		dst = append(dst, '"')
		dst = append(dst, FormatDateTime(time.Unix(0, v.I))...)
		return append(dst, '"')
	case table.KindTimeSpan:
		dst = append(dst, '"')
		dst = append(dst, FormatTimeSpan(time.Duration(v.I))...)
		return append(dst, '"')
	case table.KindDynamic:
		if json.Valid([]byte(v.S)) {
			return append(dst, v.S...)
		}
		s, _ := json.Marshal(v.S)
		return append(dst, s...)
	}
	return append(dst, "null"...)
}

// FormatTimeSpan prints a timespan as Kusto does: [-][d.]hh:mm:ss[.fffffff].
func FormatTimeSpan(d time.Duration) string {
	var b []byte
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	ticks := int64(d / 100)
	days := ticks / (24 * 3600 * 1e7)
	ticks -= days * 24 * 3600 * 1e7
	h := ticks / (3600 * 1e7)
	ticks -= h * 3600 * 1e7
	m := ticks / (60 * 1e7)
	ticks -= m * 60 * 1e7
	s := ticks / 1e7
	frac := ticks - s*1e7
	if days > 0 {
		b = strconv.AppendInt(b, days, 10)
		b = append(b, '.')
	}
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, m)
	b = append(b, ':')
	b = append2(b, s)
	if frac > 0 {
		f := strconv.FormatInt(frac, 10)
		b = append(b, '.')
		for i := len(f); i < 7; i++ {
			b = append(b, '0')
		}
		b = append(b, f...)
	}
	return string(b)
}

func append2(b []byte, n int64) []byte {
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, n, 10)
}

// FindingID derives the stable id of a finding from the rule, table, record
// and output row, so that a redelivered record yields the same id and two
// tables never collide.
func FindingID(ruleID, tableName, recordID string, rowIndex int) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	h.Write([]byte{0})
	h.Write([]byte(tableName))
	h.Write([]byte{0})
	h.Write([]byte(recordID))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(rowIndex), 10))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
