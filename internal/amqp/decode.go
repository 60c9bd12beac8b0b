package amqp

import (
	"encoding/binary"
	"math"
	"time"
)

// maxDepth bounds the nesting of compound values, so hostile input cannot
// exhaust the stack.
const maxDepth = 64

// Reader decodes AMQP values from a byte slice.
type Reader struct {
	b     []byte
	pos   int
	depth int
}

// NewReader returns a Reader over b. Decoded binary values alias b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Pos returns the number of bytes consumed so far.
func (r *Reader) Pos() int { return r.pos }

// Len returns the number of bytes left.
func (r *Reader) Len() int { return len(r.b) - r.pos }

func (r *Reader) fail(msg string) error { return &DecodeError{Offset: r.pos, Msg: msg} }

func (r *Reader) need(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.pos < n {
		return nil, r.fail("unexpected end of data")
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s, nil
}

func (r *Reader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.fail("unexpected end of data")
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// Unmarshal decodes the single AMQP value that b holds entirely.
func Unmarshal(b []byte) (any, error) {
	r := NewReader(b)
	v, err := r.Value()
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, r.fail("trailing bytes after the value")
	}
	return v, nil
}

// Value decodes the next value.
func (r *Reader) Value() (any, error) {
	code, err := r.byte1()
	if err != nil {
		return nil, err
	}
	if code == codeDescribed {
		return r.described()
	}
	return r.primitive(code)
}

func (r *Reader) described() (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxDepth {
		return nil, r.fail("values nested too deep")
	}
	desc, err := r.Value()
	if err != nil {
		return nil, err
	}
	switch desc.(type) {
	case uint64, Symbol:
	default:
		return nil, r.fail("descriptor is neither ulong nor symbol")
	}
	v, err := r.Value()
	if err != nil {
		return nil, err
	}
	return Described{Descriptor: desc, Value: v}, nil
}

// primitive decodes a value whose constructor code has been read.
func (r *Reader) primitive(code byte) (any, error) {
	switch code {
	case codeNull:
		return nil, nil
	case codeTrue:
		return true, nil
	case codeFalse:
		return false, nil
	case codeUint0:
		return uint32(0), nil
	case codeUlong0:
		return uint64(0), nil
	case codeList0:
		return List{}, nil
	}
	return r.elem(code)
}

// elem decodes one value of type code without a constructor (the form an
// array's elements have, and the tail of every primitive).
func (r *Reader) elem(code byte) (any, error) {
	switch code {
	case codeNull:
		return nil, nil
	case codeTrue:
		return true, nil
	case codeFalse:
		return false, nil
	case codeUint0:
		return uint32(0), nil
	case codeUlong0:
		return uint64(0), nil
	case codeList0:
		return List{}, nil
	case codeBool:
		c, err := r.byte1()
		if err != nil {
			return nil, err
		}
		switch c {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return nil, r.fail("boolean byte is neither 0 nor 1")
	case codeUbyte:
		c, err := r.byte1()
		return c, err
	case codeByte:
		c, err := r.byte1()
		return int8(c), err
	case codeSmallUint:
		c, err := r.byte1()
		return uint32(c), err
	case codeSmallUlong:
		c, err := r.byte1()
		return uint64(c), err
	case codeSmallInt:
		c, err := r.byte1()
		return int32(int8(c)), err
	case codeSmallLong:
		c, err := r.byte1()
		return int64(int8(c)), err
	}
	switch code & 0xf0 {
	case 0x60:
		s, err := r.need(2)
		if err != nil {
			return nil, err
		}
		switch code {
		case codeUshort:
			return binary.BigEndian.Uint16(s), nil
		case codeShort:
			return int16(binary.BigEndian.Uint16(s)), nil
		}
	case 0x70:
		s, err := r.need(4)
		if err != nil {
			return nil, err
		}
		u := binary.BigEndian.Uint32(s)
		switch code {
		case codeUint:
			return u, nil
		case codeInt:
			return int32(u), nil
		case codeFloat:
			return math.Float32frombits(u), nil
		case codeChar:
			return Char(u), nil
		case codeDecimal32:
			return Decimal32(s), nil
		}
	case 0x80:
		s, err := r.need(8)
		if err != nil {
			return nil, err
		}
		u := binary.BigEndian.Uint64(s)
		switch code {
		case codeUlong:
			return u, nil
		case codeLong:
			return int64(u), nil
		case codeDouble:
			return math.Float64frombits(u), nil
		case codeTimestamp:
			return time.UnixMilli(int64(u)).UTC(), nil
		case codeDecimal64:
			return Decimal64(s), nil
		}
	case 0x90:
		s, err := r.need(16)
		if err != nil {
			return nil, err
		}
		switch code {
		case codeDecimal128:
			return Decimal128(s), nil
		case codeUUID:
			return UUID(s), nil
		}
	case 0xa0, 0xb0:
		var n int
		if code&0xf0 == 0xa0 {
			c, err := r.byte1()
			if err != nil {
				return nil, err
			}
			n = int(c)
		} else {
			s, err := r.need(4)
			if err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint32(s))
		}
		s, err := r.need(n)
		if err != nil {
			return nil, err
		}
		switch code & 0x0f {
		case 0:
			return s, nil
		case 1:
			return string(s), nil
		case 3:
			return Symbol(s), nil
		}
	case 0xc0, 0xd0, 0xe0, 0xf0:
		return r.compound(code)
	}
	return nil, r.fail("unknown type code")
}

// compound decodes a list, map or array after its constructor.
func (r *Reader) compound(code byte) (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxDepth {
		return nil, r.fail("values nested too deep")
	}
	var size, count int
	if code&0xf0 == 0xc0 || code&0xf0 == 0xe0 {
		s, err := r.need(2)
		if err != nil {
			return nil, err
		}
		size, count = int(s[0]), int(s[1])
		if size < 1 {
			return nil, r.fail("compound size smaller than its count")
		}
		size--
	} else {
		s, err := r.need(8)
		if err != nil {
			return nil, err
		}
		size, count = int(binary.BigEndian.Uint32(s)), int(binary.BigEndian.Uint32(s[4:]))
		if size < 4 {
			return nil, r.fail("compound size smaller than its count")
		}
		size -= 4
	}
	if size > r.Len() {
		return nil, r.fail("compound size beyond the end of data")
	}
	// Every item takes at least one byte in a list or map; zero-width array
	// items are bounded by the same rule so a count cannot force a huge
	// allocation.
	isArray := code == codeArray8 || code == codeArray32
	if count > size && (!isArray || count > 1<<16) {
		return nil, r.fail("compound count larger than its size allows")
	}
	end := r.pos + size
	sub := &Reader{b: r.b[:end], pos: r.pos, depth: r.depth}
	var v any
	var err error
	switch code {
	case codeList8, codeList32:
		l := make(List, count)
		for i := range l {
			if l[i], err = sub.Value(); err != nil {
				break
			}
		}
		v = l
	case codeMap8, codeMap32:
		if count%2 != 0 {
			return nil, r.fail("map with an odd number of items")
		}
		m := make(Map, count/2)
		for i := range m {
			if m[i].Key, err = sub.Value(); err != nil {
				break
			}
			if m[i].Value, err = sub.Value(); err != nil {
				break
			}
		}
		v = m
	default:
		v, err = sub.array(count)
	}
	if err != nil {
		return nil, err
	}
	if sub.pos != end {
		return nil, sub.fail("compound size does not match its items")
	}
	r.pos = end
	return v, nil
}

func (r *Reader) array(count int) (Array, error) {
	var a Array
	code, err := r.byte1()
	if err != nil {
		return a, err
	}
	if code == codeDescribed {
		if a.Descriptor, err = r.Value(); err != nil {
			return a, err
		}
		if code, err = r.byte1(); err != nil {
			return a, err
		}
		if code == codeDescribed {
			return a, r.fail("array element descriptor is itself described")
		}
	}
	a.Elem = code
	a.Items = make([]any, count)
	for i := range a.Items {
		v, err := r.elem(code)
		if err != nil {
			return a, err
		}
		if a.Descriptor != nil {
			v = Described{Descriptor: a.Descriptor, Value: v}
		}
		a.Items[i] = v
	}
	return a, nil
}
