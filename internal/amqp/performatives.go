package amqp

import (
	"fmt"
)

// Descriptor codes of the performatives and types this package knows.
const (
	descOpen        uint64 = 0x10
	descBegin       uint64 = 0x11
	descAttach      uint64 = 0x12
	descFlow        uint64 = 0x13
	descTransfer    uint64 = 0x14
	descDisposition uint64 = 0x15
	descDetach      uint64 = 0x16
	descEnd         uint64 = 0x17
	descClose       uint64 = 0x18
	descError       uint64 = 0x1d
	descReceived    uint64 = 0x23
	descAccepted    uint64 = 0x24
	descRejected    uint64 = 0x25
	descReleased    uint64 = 0x26
	descModified    uint64 = 0x27
	descSource      uint64 = 0x28
	descTarget      uint64 = 0x29
	descSASLMechs   uint64 = 0x40
	descSASLInit    uint64 = 0x41
	descSASLChall   uint64 = 0x42
	descSASLResp    uint64 = 0x43
	descSASLOutcome uint64 = 0x44
)

// Error is the AMQP error type carried by detach, end, close and rejected.
type Error struct {
	Condition   Symbol
	Description string
	Info        Map
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("amqp error %s: %s", e.Condition, e.Description)
}

func (e *Error) appendTo(b []byte) ([]byte, error) {
	return appendDescribedList(b, descError, fieldList{e.Condition, nzStr(e.Description), nzMap(e.Info)})
}

func errorFromValue(v any) (*Error, error) {
	f, err := describedList(v, descError, "error")
	if err != nil {
		return nil, err
	}
	f.required(0)
	e := &Error{Condition: f.sym(0), Description: f.str(1), Info: f.mapv(2)}
	return e, f.err
}

// DeliveryState is the outcome or state of a delivery: *Received,
// *Accepted, *Rejected, *Released or *Modified.
type DeliveryState interface {
	appendTo(b []byte) ([]byte, error)
}

// Received is the received delivery state.
type Received struct {
	SectionNumber uint32
	SectionOffset uint64
}

// Accepted is the accepted outcome.
type Accepted struct{}

// Rejected is the rejected outcome.
type Rejected struct{ Error *Error }

// Released is the released outcome.
type Released struct{}

// Modified is the modified outcome.
type Modified struct {
	DeliveryFailed     bool
	UndeliverableHere  bool
	MessageAnnotations Map
}

func (s *Received) appendTo(b []byte) ([]byte, error) {
	return appendDescribedList(b, descReceived, fieldList{s.SectionNumber, s.SectionOffset})
}

func (s *Accepted) appendTo(b []byte) ([]byte, error) {
	return appendDescribedList(b, descAccepted, nil)
}

func (s *Rejected) appendTo(b []byte) ([]byte, error) {
	var e any
	if s.Error != nil {
		e = s.Error
	}
	return appendDescribedList(b, descRejected, fieldList{e})
}

func (s *Released) appendTo(b []byte) ([]byte, error) {
	return appendDescribedList(b, descReleased, nil)
}

func (s *Modified) appendTo(b []byte) ([]byte, error) {
	return appendDescribedList(b, descModified, fieldList{flag(s.DeliveryFailed), flag(s.UndeliverableHere), nzMap(s.MessageAnnotations)})
}

func stateFromValue(v any) (DeliveryState, error) {
	d, ok := v.(Described)
	if !ok {
		return nil, fmt.Errorf("amqp: delivery state is %T, want a described list", v)
	}
	code, _ := descriptorCode(d.Descriptor)
	switch code {
	case descReceived:
		f, err := describedList(v, code, "received")
		if err != nil {
			return nil, err
		}
		s := &Received{SectionNumber: f.uint(0), SectionOffset: f.ulong(1)}
		return s, f.err
	case descAccepted:
		return &Accepted{}, nil
	case descRejected:
		f, err := describedList(v, code, "rejected")
		if err != nil {
			return nil, err
		}
		s := &Rejected{Error: f.errorv(0)}
		return s, f.err
	case descReleased:
		return &Released{}, nil
	case descModified:
		f, err := describedList(v, code, "modified")
		if err != nil {
			return nil, err
		}
		s := &Modified{DeliveryFailed: f.boolean(0), UndeliverableHere: f.boolean(1), MessageAnnotations: f.mapv(2)}
		return s, f.err
	}
	return nil, fmt.Errorf("amqp: unknown delivery state %v", d.Descriptor)
}

// Source is the source terminus of a link.
type Source struct {
	Address               string
	Durable               uint32
	ExpiryPolicy          Symbol
	Timeout               uint32
	Dynamic               bool
	DynamicNodeProperties Map
	DistributionMode      Symbol
	Filter                Map
	DefaultOutcome        DeliveryState
	Outcomes              []Symbol
	Capabilities          []Symbol
}

func (s *Source) value() any {
	if s == nil {
		return nil
	}
	var outcome any
	if s.DefaultOutcome != nil {
		outcome = s.DefaultOutcome
	}
	return describedFields{descSource, fieldList{nzStr(s.Address), nz32(s.Durable), nzSym(s.ExpiryPolicy), nz32(s.Timeout),
		flag(s.Dynamic), nzMap(s.DynamicNodeProperties), nzSym(s.DistributionMode), nzMap(s.Filter), outcome,
		symbolsV(s.Outcomes), symbolsV(s.Capabilities)}}
}

func sourceFromValue(v any) (*Source, error) {
	if v == nil {
		return nil, nil
	}
	f, err := describedList(v, descSource, "source")
	if err != nil {
		return nil, err
	}
	s := &Source{Address: addressOf(f, 0), Durable: f.uint(1), ExpiryPolicy: f.sym(2), Timeout: f.uint(3),
		Dynamic: f.boolean(4), DynamicNodeProperties: f.mapv(5), DistributionMode: f.sym(6), Filter: f.mapv(7),
		DefaultOutcome: f.state(8), Outcomes: f.symbols(9), Capabilities: f.symbols(10)}
	return s, f.err
}

// addressOf reads a terminus address, which AMQP allows to be any type
// (string in practice, sometimes a symbol).
func addressOf(f *fieldReader, i int) string {
	switch v := f.at(i).(type) {
	case Symbol:
		return string(v)
	}
	return f.str(i)
}

// Target is the target terminus of a link.
type Target struct {
	Address               string
	Durable               uint32
	ExpiryPolicy          Symbol
	Timeout               uint32
	Dynamic               bool
	DynamicNodeProperties Map
	Capabilities          []Symbol
}

func (t *Target) value() any {
	if t == nil {
		return nil
	}
	return describedFields{descTarget, fieldList{nzStr(t.Address), nz32(t.Durable), nzSym(t.ExpiryPolicy), nz32(t.Timeout),
		flag(t.Dynamic), nzMap(t.DynamicNodeProperties), symbolsV(t.Capabilities)}}
}

func targetFromValue(v any) (*Target, error) {
	if v == nil {
		return nil, nil
	}
	f, err := describedList(v, descTarget, "target")
	if err != nil {
		return nil, err
	}
	t := &Target{Address: addressOf(f, 0), Durable: f.uint(1), ExpiryPolicy: f.sym(2), Timeout: f.uint(3),
		Dynamic: f.boolean(4), DynamicNodeProperties: f.mapv(5), Capabilities: f.symbols(6)}
	return t, f.err
}

// describedFields is a described list to encode as a field of another.
type describedFields struct {
	code   uint64
	fields fieldList
}

func (d describedFields) appendTo(b []byte) ([]byte, error) {
	return appendDescribedList(b, d.code, d.fields)
}

// Performative is the body of an AMQP or SASL frame.
type Performative interface {
	fields() (uint64, fieldList)
}

// Open is the open performative.
type Open struct {
	ContainerID         string
	Hostname            string
	MaxFrameSize        uint32 // 0 means the default, 4294967295
	ChannelMax          uint16 // 0 means the default, 65535
	IdleTimeout         uint32 // milliseconds; 0 means none
	OutgoingLocales     []Symbol
	IncomingLocales     []Symbol
	OfferedCapabilities []Symbol
	DesiredCapabilities []Symbol
	Properties          Map
}

func (p *Open) fields() (uint64, fieldList) {
	var cm any
	if p.ChannelMax != 0 {
		cm = p.ChannelMax
	}
	return descOpen, fieldList{p.ContainerID, nzStr(p.Hostname), nz32(p.MaxFrameSize), cm, nz32(p.IdleTimeout),
		symbolsV(p.OutgoingLocales), symbolsV(p.IncomingLocales), symbolsV(p.OfferedCapabilities),
		symbolsV(p.DesiredCapabilities), nzMap(p.Properties)}
}

// Begin is the begin performative.
type Begin struct {
	RemoteChannel       *uint16
	NextOutgoingID      uint32
	IncomingWindow      uint32
	OutgoingWindow      uint32
	HandleMax           uint32 // 0 means the default, 4294967295
	OfferedCapabilities []Symbol
	DesiredCapabilities []Symbol
	Properties          Map
}

func (p *Begin) fields() (uint64, fieldList) {
	return descBegin, fieldList{optU16(p.RemoteChannel), p.NextOutgoingID, p.IncomingWindow, p.OutgoingWindow,
		nz32(p.HandleMax), symbolsV(p.OfferedCapabilities), symbolsV(p.DesiredCapabilities), nzMap(p.Properties)}
}

// Role values of attach and disposition.
const (
	RoleSender   = false
	RoleReceiver = true
)

// Settlement modes of attach.
const (
	SndSettleUnsettled uint8 = 0
	SndSettleSettled   uint8 = 1
	SndSettleMixed     uint8 = 2
	RcvSettleFirst     uint8 = 0
	RcvSettleSecond    uint8 = 1
)

// Attach is the attach performative.
type Attach struct {
	Name                 string
	Handle               uint32
	Role                 bool // RoleSender or RoleReceiver
	SndSettleMode        *uint8
	RcvSettleMode        *uint8
	Source               *Source
	Target               *Target
	Unsettled            Map
	IncompleteUnsettled  bool
	InitialDeliveryCount *uint32
	MaxMessageSize       uint64
	OfferedCapabilities  []Symbol
	DesiredCapabilities  []Symbol
	Properties           Map
}

func (p *Attach) fields() (uint64, fieldList) {
	return descAttach, fieldList{p.Name, p.Handle, p.Role, optU8(p.SndSettleMode), optU8(p.RcvSettleMode),
		p.Source.value(), p.Target.value(), nzMap(p.Unsettled), flag(p.IncompleteUnsettled),
		optU32(p.InitialDeliveryCount), nz64(p.MaxMessageSize), symbolsV(p.OfferedCapabilities),
		symbolsV(p.DesiredCapabilities), nzMap(p.Properties)}
}

// Flow is the flow performative.
type Flow struct {
	NextIncomingID *uint32
	IncomingWindow uint32
	NextOutgoingID uint32
	OutgoingWindow uint32
	Handle         *uint32
	DeliveryCount  *uint32
	LinkCredit     *uint32
	Available      *uint32
	Drain          bool
	Echo           bool
	Properties     Map
}

func (p *Flow) fields() (uint64, fieldList) {
	return descFlow, fieldList{optU32(p.NextIncomingID), p.IncomingWindow, p.NextOutgoingID, p.OutgoingWindow,
		optU32(p.Handle), optU32(p.DeliveryCount), optU32(p.LinkCredit), optU32(p.Available), flag(p.Drain),
		flag(p.Echo), nzMap(p.Properties)}
}

// Transfer is the transfer performative. Payload is the frame's payload
// (a part of the encoded message); it aliases the frame buffer when decoded.
type Transfer struct {
	Handle        uint32
	DeliveryID    *uint32
	DeliveryTag   []byte
	MessageFormat *uint32
	Settled       *bool
	More          bool
	RcvSettleMode *uint8
	State         DeliveryState
	Resume        bool
	Aborted       bool
	Batchable     bool
	Payload       []byte
}

func (p *Transfer) fields() (uint64, fieldList) {
	var st any
	if p.State != nil {
		st = p.State
	}
	return descTransfer, fieldList{p.Handle, optU32(p.DeliveryID), nzBin(p.DeliveryTag), optU32(p.MessageFormat),
		optBoolV(p.Settled), flag(p.More), optU8(p.RcvSettleMode), st, flag(p.Resume), flag(p.Aborted),
		flag(p.Batchable)}
}

// Disposition is the disposition performative.
type Disposition struct {
	Role      bool
	First     uint32
	Last      *uint32
	Settled   bool
	State     DeliveryState
	Batchable bool
}

func (p *Disposition) fields() (uint64, fieldList) {
	var st any
	if p.State != nil {
		st = p.State
	}
	return descDisposition, fieldList{p.Role, p.First, optU32(p.Last), flag(p.Settled), st, flag(p.Batchable)}
}

// Detach is the detach performative.
type Detach struct {
	Handle uint32
	Closed bool
	Error  *Error
}

func (p *Detach) fields() (uint64, fieldList) {
	return descDetach, fieldList{p.Handle, flag(p.Closed), errV(p.Error)}
}

// End is the end performative.
type End struct{ Error *Error }

func (p *End) fields() (uint64, fieldList) { return descEnd, fieldList{errV(p.Error)} }

// Close is the close performative.
type Close struct{ Error *Error }

func (p *Close) fields() (uint64, fieldList) { return descClose, fieldList{errV(p.Error)} }

func errV(e *Error) any {
	if e == nil {
		return nil
	}
	return e
}

// SASLMechanisms is the sasl-mechanisms frame body.
type SASLMechanisms struct{ Mechanisms []Symbol }

func (p *SASLMechanisms) fields() (uint64, fieldList) {
	return descSASLMechs, fieldList{SymbolArray(p.Mechanisms...)}
}

// SASLInit is the sasl-init frame body.
type SASLInit struct {
	Mechanism       Symbol
	InitialResponse []byte
	Hostname        string
}

func (p *SASLInit) fields() (uint64, fieldList) {
	return descSASLInit, fieldList{p.Mechanism, nzBin(p.InitialResponse), nzStr(p.Hostname)}
}

// SASLChallenge is the sasl-challenge frame body.
type SASLChallenge struct{ Challenge []byte }

func (p *SASLChallenge) fields() (uint64, fieldList) {
	return descSASLChall, fieldList{p.Challenge}
}

// SASLResponse is the sasl-response frame body.
type SASLResponse struct{ Response []byte }

func (p *SASLResponse) fields() (uint64, fieldList) {
	return descSASLResp, fieldList{p.Response}
}

// SASL outcome codes.
const (
	SASLOK      uint8 = 0
	SASLAuth    uint8 = 1
	SASLSys     uint8 = 2
	SASLSysPerm uint8 = 3
	SASLSysTemp uint8 = 4
)

// SASLOutcome is the sasl-outcome frame body.
type SASLOutcome struct {
	Code           uint8
	AdditionalData []byte
}

func (p *SASLOutcome) fields() (uint64, fieldList) {
	return descSASLOutcome, fieldList{p.Code, nzBin(p.AdditionalData)}
}

// decodePerformative decodes a frame body's performative from v.
func decodePerformative(v any) (Performative, error) {
	d, ok := v.(Described)
	if !ok {
		return nil, fmt.Errorf("amqp: frame body is %T, want a described performative", v)
	}
	code, ok := descriptorCode(d.Descriptor)
	if !ok {
		return nil, fmt.Errorf("amqp: unknown performative descriptor %v", d.Descriptor)
	}
	l, ok := d.Value.(List)
	if !ok && d.Value != nil {
		return nil, fmt.Errorf("amqp: performative %#x is %T, want a list", code, d.Value)
	}
	f := &fieldReader{l: l}
	var p Performative
	switch code {
	case descOpen:
		f.name = "open"
		f.required(0)
		p = &Open{ContainerID: f.str(0), Hostname: f.str(1), MaxFrameSize: f.uint(2), ChannelMax: deref16(f.ushort(3)),
			IdleTimeout: f.uint(4), OutgoingLocales: f.symbols(5), IncomingLocales: f.symbols(6),
			OfferedCapabilities: f.symbols(7), DesiredCapabilities: f.symbols(8), Properties: f.mapv(9)}
	case descBegin:
		f.name = "begin"
		f.required(1)
		f.required(2)
		f.required(3)
		p = &Begin{RemoteChannel: f.ushort(0), NextOutgoingID: f.uint(1), IncomingWindow: f.uint(2),
			OutgoingWindow: f.uint(3), HandleMax: f.uint(4), OfferedCapabilities: f.symbols(5),
			DesiredCapabilities: f.symbols(6), Properties: f.mapv(7)}
	case descAttach:
		f.name = "attach"
		f.required(0)
		f.required(1)
		f.required(2)
		a := &Attach{Name: f.str(0), Handle: f.uint(1), Role: f.boolean(2), SndSettleMode: f.ubyte(3),
			RcvSettleMode: f.ubyte(4), Unsettled: f.mapv(7), IncompleteUnsettled: f.boolean(8),
			InitialDeliveryCount: f.optUint(9), MaxMessageSize: f.ulong(10), OfferedCapabilities: f.symbols(11),
			DesiredCapabilities: f.symbols(12), Properties: f.mapv(13)}
		var err error
		if a.Source, err = sourceFromValue(f.at(5)); err != nil {
			return nil, err
		}
		if a.Target, err = targetFromValue(f.at(6)); err != nil {
			return nil, err
		}
		p = a
	case descFlow:
		f.name = "flow"
		f.required(1)
		f.required(2)
		f.required(3)
		p = &Flow{NextIncomingID: f.optUint(0), IncomingWindow: f.uint(1), NextOutgoingID: f.uint(2),
			OutgoingWindow: f.uint(3), Handle: f.optUint(4), DeliveryCount: f.optUint(5), LinkCredit: f.optUint(6),
			Available: f.optUint(7), Drain: f.boolean(8), Echo: f.boolean(9), Properties: f.mapv(10)}
	case descTransfer:
		f.name = "transfer"
		f.required(0)
		p = &Transfer{Handle: f.uint(0), DeliveryID: f.optUint(1), DeliveryTag: f.binary(2),
			MessageFormat: f.optUint(3), Settled: f.optBool(4), More: f.boolean(5), RcvSettleMode: f.ubyte(6),
			State: f.state(7), Resume: f.boolean(8), Aborted: f.boolean(9), Batchable: f.boolean(10)}
	case descDisposition:
		f.name = "disposition"
		f.required(0)
		f.required(1)
		p = &Disposition{Role: f.boolean(0), First: f.uint(1), Last: f.optUint(2), Settled: f.boolean(3),
			State: f.state(4), Batchable: f.boolean(5)}
	case descDetach:
		f.name = "detach"
		f.required(0)
		p = &Detach{Handle: f.uint(0), Closed: f.boolean(1), Error: f.errorv(2)}
	case descEnd:
		f.name = "end"
		p = &End{Error: f.errorv(0)}
	case descClose:
		f.name = "close"
		p = &Close{Error: f.errorv(0)}
	case descSASLMechs:
		f.name = "sasl-mechanisms"
		f.required(0)
		p = &SASLMechanisms{Mechanisms: f.symbols(0)}
	case descSASLInit:
		f.name = "sasl-init"
		f.required(0)
		p = &SASLInit{Mechanism: f.sym(0), InitialResponse: f.binary(1), Hostname: f.str(2)}
	case descSASLChall:
		f.name = "sasl-challenge"
		p = &SASLChallenge{Challenge: f.binary(0)}
	case descSASLResp:
		f.name = "sasl-response"
		p = &SASLResponse{Response: f.binary(0)}
	case descSASLOutcome:
		f.name = "sasl-outcome"
		f.required(0)
		o := &SASLOutcome{AdditionalData: f.binary(1)}
		if c := f.ubyte(0); c != nil {
			o.Code = *c
		}
		p = o
	default:
		return nil, fmt.Errorf("amqp: unknown performative descriptor %#x", code)
	}
	if f.err != nil {
		return nil, f.err
	}
	return p, nil
}

func deref16(p *uint16) uint16 {
	if p == nil {
		return 0
	}
	return *p
}
