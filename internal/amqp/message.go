package amqp

import (
	"fmt"
	"time"
)

// Section descriptors of the message format (part 3, section 3.2).
const (
	descHeader                uint64 = 0x70
	descDeliveryAnnotations   uint64 = 0x71
	descMessageAnnotations    uint64 = 0x72
	descProperties            uint64 = 0x73
	descApplicationProperties uint64 = 0x74
	descData                  uint64 = 0x75
	descAMQPSequence          uint64 = 0x76
	descAMQPValue             uint64 = 0x77
	descFooter                uint64 = 0x78
)

// Message is an AMQP message: its sections in the order the format requires.
// Nil fields are absent sections. The body is Data sections, AMQP sequence
// sections, or one AMQP value section (HasValue set, Value possibly nil).
type Message struct {
	Header                *Header
	DeliveryAnnotations   Map
	MessageAnnotations    Map
	Properties            *Properties
	ApplicationProperties Map
	Data                  [][]byte
	Sequence              []List
	Value                 any
	HasValue              bool
	Footer                Map
}

// Header is the header section.
type Header struct {
	Durable       bool
	Priority      *uint8
	TTL           *uint32 // milliseconds
	FirstAcquirer bool
	DeliveryCount uint32
}

// Properties is the properties section. MessageID and CorrelationID are a
// ulong, UUID, []byte or string.
type Properties struct {
	MessageID          any
	UserID             []byte
	To                 *string
	Subject            *string
	ReplyTo            *string
	CorrelationID      any
	ContentType        *Symbol
	ContentEncoding    *Symbol
	AbsoluteExpiryTime *time.Time
	CreationTime       *time.Time
	GroupID            *string
	GroupSequence      *uint32
	ReplyToGroupID     *string
}

func optSym(p *Symbol) any {
	if p == nil {
		return nil
	}
	return *p
}

// Marshal returns the encoding of m.
func (m *Message) Marshal() ([]byte, error) { return m.Append(nil) }

// Append appends the encoding of m to b.
func (m *Message) Append(b []byte) ([]byte, error) {
	var err error
	if h := m.Header; h != nil {
		if b, err = appendDescribedList(b, descHeader, fieldList{flag(h.Durable), optU8(h.Priority), optU32(h.TTL),
			flag(h.FirstAcquirer), nz32(h.DeliveryCount)}); err != nil {
			return b, err
		}
	}
	appendMapSection := func(code uint64, mp Map) {
		if mp == nil || err != nil {
			return
		}
		b = append(b, codeDescribed)
		b = appendUlong(b, code)
		b, err = appendMap(b, mp)
	}
	appendMapSection(descDeliveryAnnotations, m.DeliveryAnnotations)
	appendMapSection(descMessageAnnotations, m.MessageAnnotations)
	if err != nil {
		return b, err
	}
	if p := m.Properties; p != nil {
		if b, err = appendDescribedList(b, descProperties, fieldList{p.MessageID, nzBin(p.UserID), optStrV(p.To),
			optStrV(p.Subject), optStrV(p.ReplyTo), p.CorrelationID, optSym(p.ContentType), optSym(p.ContentEncoding),
			optTime(p.AbsoluteExpiryTime), optTime(p.CreationTime), optStrV(p.GroupID), optU32(p.GroupSequence),
			optStrV(p.ReplyToGroupID)}); err != nil {
			return b, err
		}
	}
	appendMapSection(descApplicationProperties, m.ApplicationProperties)
	if err != nil {
		return b, err
	}
	for _, d := range m.Data {
		b = AppendData(b, d)
	}
	for _, s := range m.Sequence {
		b = append(b, codeDescribed)
		b = appendUlong(b, descAMQPSequence)
		if b, err = appendList(b, s); err != nil {
			return b, err
		}
	}
	if m.HasValue {
		b = append(b, codeDescribed)
		b = appendUlong(b, descAMQPValue)
		if b, err = AppendValue(b, m.Value); err != nil {
			return b, err
		}
	}
	appendMapSection(descFooter, m.Footer)
	return b, err
}

// AppendData appends one data section holding d.
func AppendData(b []byte, d []byte) []byte {
	b = append(b, codeDescribed, codeSmallUlong, byte(descData))
	return AppendBinary(b, d)
}

// Unmarshal decodes an encoded message into m. Binary fields alias b.
func (m *Message) Unmarshal(b []byte) error {
	*m = Message{}
	r := NewReader(b)
	last := uint64(0)
	for r.Len() > 0 {
		start := r.Pos()
		v, err := r.Value()
		if err != nil {
			return fmt.Errorf("amqp: message section at byte %d: %w", start, err)
		}
		d, ok := v.(Described)
		if !ok {
			return fmt.Errorf("amqp: message section at byte %d is %T, want a described section", start, v)
		}
		code, ok := descriptorCode(d.Descriptor)
		if !ok || code < descHeader || code > descFooter {
			return fmt.Errorf("amqp: message section at byte %d has unknown descriptor %v", start, d.Descriptor)
		}
		body := code >= descData && code <= descAMQPValue
		if code < last || code == last && !(code == descData || code == descAMQPSequence) ||
			body && last >= descData && last <= descAMQPValue && code != last {
			return fmt.Errorf("amqp: message section %#x at byte %d is out of order", code, start)
		}
		last = code
		if err := m.setSection(code, v, d.Value); err != nil {
			return fmt.Errorf("amqp: message section at byte %d: %w", start, err)
		}
	}
	return nil
}

func (m *Message) setSection(code uint64, v, val any) error {
	asMap := func(name string) (Map, error) {
		switch x := val.(type) {
		case Map:
			return x, nil
		case nil:
			return Map{}, nil
		}
		return nil, fmt.Errorf("%s is %T, want a map", name, val)
	}
	var err error
	switch code {
	case descHeader:
		f, err := describedList(v, descHeader, "header")
		if err != nil {
			return err
		}
		m.Header = &Header{Durable: f.boolean(0), Priority: f.ubyte(1), TTL: f.optUint(2), FirstAcquirer: f.boolean(3),
			DeliveryCount: f.uint(4)}
		return f.err
	case descDeliveryAnnotations:
		m.DeliveryAnnotations, err = asMap("delivery-annotations")
	case descMessageAnnotations:
		m.MessageAnnotations, err = asMap("message-annotations")
	case descProperties:
		f, err := describedList(v, descProperties, "properties")
		if err != nil {
			return err
		}
		var ct, ce *Symbol
		if s := f.at(6); s != nil {
			x := f.sym(6)
			ct = &x
		}
		if s := f.at(7); s != nil {
			x := f.sym(7)
			ce = &x
		}
		m.Properties = &Properties{MessageID: f.at(0), UserID: f.binary(1), To: addrPtr(f, 2), Subject: f.optStr(3),
			ReplyTo: addrPtr(f, 4), CorrelationID: f.at(5), ContentType: ct, ContentEncoding: ce,
			AbsoluteExpiryTime: f.timestamp(8), CreationTime: f.timestamp(9), GroupID: f.optStr(10),
			GroupSequence: f.optUint(11), ReplyToGroupID: f.optStr(12)}
		if err := checkMessageID(m.Properties.MessageID); err != nil {
			return fmt.Errorf("message-id: %w", err)
		}
		if err := checkMessageID(m.Properties.CorrelationID); err != nil {
			return fmt.Errorf("correlation-id: %w", err)
		}
		return f.err
	case descApplicationProperties:
		m.ApplicationProperties, err = asMap("application-properties")
	case descData:
		d, ok := val.([]byte)
		if !ok {
			return fmt.Errorf("data section is %T, want binary", val)
		}
		m.Data = append(m.Data, d)
	case descAMQPSequence:
		l, ok := val.(List)
		if !ok {
			return fmt.Errorf("amqp-sequence section is %T, want a list", val)
		}
		m.Sequence = append(m.Sequence, l)
	case descAMQPValue:
		m.Value, m.HasValue = val, true
	case descFooter:
		m.Footer, err = asMap("footer")
	}
	return err
}

func addrPtr(f *fieldReader, i int) *string {
	if f.at(i) == nil {
		return nil
	}
	s := addressOf(f, i)
	return &s
}

func checkMessageID(v any) error {
	switch v.(type) {
	case nil, uint64, UUID, []byte, string:
		return nil
	}
	return fmt.Errorf("is %T, want ulong, uuid, binary or string", v)
}
