// Package amqp is an AMQP 1.0 codec: the type system, frames, performatives,
// SASL frames and messages, as the OASIS AMQP 1.0 specification (part 1 types,
// part 2 transport, part 3 messaging, part 5 security) defines them.
//
// It is written for the project's in-process Event Hubs test server
// (internal/ehtest) and knows nothing about Event Hubs itself.
//
// Decoded values use these Go types:
//
//	null        nil
//	boolean     bool
//	ubyte ushort uint ulong   uint8 uint16 uint32 uint64
//	byte short int long       int8 int16 int32 int64
//	float double              float32 float64
//	decimal32/64/128          Decimal32 Decimal64 Decimal128
//	char        Char
//	timestamp   time.Time (UTC, millisecond precision)
//	uuid        UUID
//	binary      []byte
//	string      string
//	symbol      Symbol
//	list        List
//	map         Map (ordered, any key type)
//	array       Array
//	described   Described (outside the performatives and sections this package knows)
//
// The encoder accepts the same types (and int, encoded as long) and chooses the
// smallest encoding of each value; the decoder accepts every width.
package amqp

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Type codes of the AMQP 1.0 primitive encodings (part 1, section 1.6).
const (
	codeDescribed  byte = 0x00
	codeNull       byte = 0x40
	codeTrue       byte = 0x41
	codeFalse      byte = 0x42
	codeUint0      byte = 0x43
	codeUlong0     byte = 0x44
	codeList0      byte = 0x45
	codeUbyte      byte = 0x50
	codeByte       byte = 0x51
	codeSmallUint  byte = 0x52
	codeSmallUlong byte = 0x53
	codeSmallInt   byte = 0x54
	codeSmallLong  byte = 0x55
	codeBool       byte = 0x56
	codeUshort     byte = 0x60
	codeShort      byte = 0x61
	codeUint       byte = 0x70
	codeInt        byte = 0x71
	codeFloat      byte = 0x72
	codeChar       byte = 0x73
	codeDecimal32  byte = 0x74
	codeUlong      byte = 0x80
	codeLong       byte = 0x81
	codeDouble     byte = 0x82
	codeTimestamp  byte = 0x83
	codeDecimal64  byte = 0x84
	codeDecimal128 byte = 0x94
	codeUUID       byte = 0x98
	codeVbin8      byte = 0xa0
	codeStr8       byte = 0xa1
	codeSym8       byte = 0xa3
	codeVbin32     byte = 0xb0
	codeStr32      byte = 0xb1
	codeSym32      byte = 0xb3
	codeList8      byte = 0xc0
	codeMap8       byte = 0xc1
	codeList32     byte = 0xd0
	codeMap32      byte = 0xd1
	codeArray8     byte = 0xe0
	codeArray32    byte = 0xf0
)

// Symbol is an AMQP symbol: ASCII text used for names and keys.
type Symbol string

// Char is an AMQP char: one UTF-32 code point.
type Char rune

// UUID is an AMQP uuid (RFC 4122 bytes).
type UUID [16]byte

// String formats the UUID in its canonical 8-4-4-4-12 form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Decimal32 is an IEEE 754 decimal32, kept as its raw big-endian bytes.
type Decimal32 [4]byte

// Decimal64 is an IEEE 754 decimal64, kept as its raw big-endian bytes.
type Decimal64 [8]byte

// Decimal128 is an IEEE 754 decimal128, kept as its raw big-endian bytes.
type Decimal128 [16]byte

// List is an AMQP list: a sequence of values of any types.
type List []any

// MapEntry is one key/value pair of a Map.
type MapEntry struct {
	Key   any
	Value any
}

// Map is an AMQP map, in wire order. Keys may be of any type; AMQP forbids
// duplicates, which Set avoids.
type Map []MapEntry

// Get returns the value of key and whether it is present. Keys compare by
// Go equality, so Symbol("a") and "a" are different keys.
func (m Map) Get(key any) (any, bool) {
	for _, e := range m {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key, or appends the pair when key is absent.
func (m *Map) Set(key, value any) {
	for i, e := range *m {
		if e.Key == key {
			(*m)[i].Value = value
			return
		}
	}
	*m = append(*m, MapEntry{Key: key, Value: value})
}

// Array is an AMQP array: values of one type. Elem is the element's type code
// (0 lets the encoder infer it from the first item); Descriptor is set when the
// elements are described. Decoded items of a described array are Described.
type Array struct {
	Elem       byte
	Descriptor any
	Items      []any
}

// SymbolArray makes an Array of symbols.
func SymbolArray(s ...Symbol) Array {
	a := Array{Elem: codeSym8, Items: make([]any, len(s))}
	for i, v := range s {
		a.Items[i] = v
	}
	return a
}

// StringArray makes an Array of strings.
func StringArray(s ...string) Array {
	a := Array{Elem: codeStr8, Items: make([]any, len(s))}
	for i, v := range s {
		a.Items[i] = v
	}
	return a
}

// Described is a described value whose descriptor this package does not know.
type Described struct {
	Descriptor any
	Value      any
}

// Timestamp returns t truncated to the millisecond precision of an AMQP
// timestamp, in UTC, as the decoder returns it.
func Timestamp(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// DecodeError reports malformed AMQP bytes.
type DecodeError struct {
	Offset int
	Msg    string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("amqp: malformed encoding at byte %d: %s", e.Offset, e.Msg)
}
