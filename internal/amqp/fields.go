package amqp

import (
	"fmt"
	"time"
)

// fieldReader reads the fields of a described list (a performative, a
// terminus, a section) with type checks, keeping the first error.
type fieldReader struct {
	name string
	l    List
	err  error
}

func (f *fieldReader) at(i int) any {
	if i < len(f.l) {
		return f.l[i]
	}
	return nil
}

func (f *fieldReader) bad(i int, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("amqp: %s field %d is %T, want %s", f.name, i, f.at(i), want)
	}
}

func (f *fieldReader) required(i int) {
	if f.at(i) == nil && f.err == nil {
		f.err = fmt.Errorf("amqp: %s field %d is mandatory and missing", f.name, i)
	}
}

func (f *fieldReader) str(i int) string {
	switch v := f.at(i).(type) {
	case nil:
		return ""
	case string:
		return v
	}
	f.bad(i, "string")
	return ""
}

func (f *fieldReader) optStr(i int) *string {
	if f.at(i) == nil {
		return nil
	}
	s := f.str(i)
	return &s
}

func (f *fieldReader) sym(i int) Symbol {
	switch v := f.at(i).(type) {
	case nil:
		return ""
	case Symbol:
		return v
	}
	f.bad(i, "symbol")
	return ""
}

// symbols reads a multiple symbol field: one symbol or an array of them.
func (f *fieldReader) symbols(i int) []Symbol {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case Symbol:
		return []Symbol{v}
	case Array:
		out := make([]Symbol, 0, len(v.Items))
		for _, it := range v.Items {
			s, ok := it.(Symbol)
			if !ok {
				f.bad(i, "array of symbol")
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	f.bad(i, "symbol or array of symbol")
	return nil
}

func (f *fieldReader) boolean(i int) bool {
	switch v := f.at(i).(type) {
	case nil:
		return false
	case bool:
		return v
	}
	f.bad(i, "boolean")
	return false
}

func (f *fieldReader) optBool(i int) *bool {
	if f.at(i) == nil {
		return nil
	}
	b := f.boolean(i)
	return &b
}

func (f *fieldReader) ubyte(i int) *uint8 {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case uint8:
		return &v
	}
	f.bad(i, "ubyte")
	return nil
}

func (f *fieldReader) ushort(i int) *uint16 {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case uint16:
		return &v
	}
	f.bad(i, "ushort")
	return nil
}

func (f *fieldReader) optUint(i int) *uint32 {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case uint32:
		return &v
	}
	f.bad(i, "uint")
	return nil
}

func (f *fieldReader) uint(i int) uint32 {
	if p := f.optUint(i); p != nil {
		return *p
	}
	return 0
}

func (f *fieldReader) ulong(i int) uint64 {
	switch v := f.at(i).(type) {
	case nil:
		return 0
	case uint64:
		return v
	}
	f.bad(i, "ulong")
	return 0
}

func (f *fieldReader) binary(i int) []byte {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case []byte:
		return v
	}
	f.bad(i, "binary")
	return nil
}

func (f *fieldReader) mapv(i int) Map {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case Map:
		return v
	}
	f.bad(i, "map")
	return nil
}

func (f *fieldReader) timestamp(i int) *time.Time {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case time.Time:
		return &v
	}
	f.bad(i, "timestamp")
	return nil
}

func (f *fieldReader) errorv(i int) *Error {
	v := f.at(i)
	if v == nil {
		return nil
	}
	e, err := errorFromValue(v)
	if err != nil && f.err == nil {
		f.err = err
	}
	return e
}

func (f *fieldReader) state(i int) DeliveryState {
	v := f.at(i)
	if v == nil {
		return nil
	}
	s, err := stateFromValue(v)
	if err != nil && f.err == nil {
		f.err = err
	}
	return s
}

// fieldList builds the fields of a described list for encoding, turning
// absent optional values into null and dropping trailing nulls.
type fieldList List

func (l fieldList) trim() List {
	n := len(l)
	for n > 0 && l[n-1] == nil {
		n--
	}
	return List(l[:n])
}

func optU8(p *uint8) any {
	if p == nil {
		return nil
	}
	return *p
}

func optU16(p *uint16) any {
	if p == nil {
		return nil
	}
	return *p
}

func optU32(p *uint32) any {
	if p == nil {
		return nil
	}
	return *p
}

func optBoolV(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

func optStrV(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func optTime(p *time.Time) any {
	if p == nil {
		return nil
	}
	return *p
}

// flag encodes a boolean field whose default is false as null when false.
func flag(b bool) any {
	if !b {
		return nil
	}
	return true
}

func nz32(v uint32) any {
	if v == 0 {
		return nil
	}
	return v
}

func nz64(v uint64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nzStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nzSym(s Symbol) any {
	if s == "" {
		return nil
	}
	return s
}

func nzMap(m Map) any {
	if m == nil {
		return nil
	}
	return m
}

func nzBin(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func symbolsV(s []Symbol) any {
	if s == nil {
		return nil
	}
	return SymbolArray(s...)
}

// appendDescribedList appends a described list with a ulong descriptor.
func appendDescribedList(b []byte, code uint64, fields fieldList) ([]byte, error) {
	b = append(b, codeDescribed)
	b = appendUlong(b, code)
	return appendList(b, fields.trim())
}

// describedList checks that v is a described list with descriptor code (or
// its symbolic name) and returns its fields.
func describedList(v any, code uint64, name string) (*fieldReader, error) {
	d, ok := v.(Described)
	if !ok {
		return nil, fmt.Errorf("amqp: %s is %T, want a described list", name, v)
	}
	if !descriptorIs(d.Descriptor, code, name) {
		return nil, fmt.Errorf("amqp: descriptor %v is not %s", d.Descriptor, name)
	}
	var l List
	switch x := d.Value.(type) {
	case List:
		l = x
	case nil:
	default:
		return nil, fmt.Errorf("amqp: %s value is %T, want a list", name, d.Value)
	}
	return &fieldReader{name: name, l: l}, nil
}

// descriptorIs reports whether desc is the numeric code or the symbolic
// "amqp:<name>:list" form of a descriptor.
func descriptorIs(desc any, code uint64, name string) bool {
	switch d := desc.(type) {
	case uint64:
		return d == code
	case Symbol:
		return string(d) == "amqp:"+name+":list" || string(d) == "amqp:"+name+":map" || string(d) == "amqp:"+name
	}
	return false
}

// descriptorCode returns the numeric code of a descriptor, mapping the
// symbolic names this package knows.
func descriptorCode(desc any) (uint64, bool) {
	switch d := desc.(type) {
	case uint64:
		return d, true
	case Symbol:
		c, ok := symbolicDescriptors[d]
		return c, ok
	}
	return 0, false
}

var symbolicDescriptors = map[Symbol]uint64{
	"amqp:open:list": 0x10, "amqp:begin:list": 0x11, "amqp:attach:list": 0x12,
	"amqp:flow:list": 0x13, "amqp:transfer:list": 0x14, "amqp:disposition:list": 0x15,
	"amqp:detach:list": 0x16, "amqp:end:list": 0x17, "amqp:close:list": 0x18,
	"amqp:error:list": 0x1d, "amqp:received:list": 0x23, "amqp:accepted:list": 0x24,
	"amqp:rejected:list": 0x25, "amqp:released:list": 0x26, "amqp:modified:list": 0x27,
	"amqp:source:list": 0x28, "amqp:target:list": 0x29,
	"amqp:sasl-mechanisms:list": 0x40, "amqp:sasl-init:list": 0x41, "amqp:sasl-challenge:list": 0x42,
	"amqp:sasl-response:list": 0x43, "amqp:sasl-outcome:list": 0x44,
	"amqp:header:list": 0x70, "amqp:delivery-annotations:map": 0x71, "amqp:message-annotations:map": 0x72,
	"amqp:properties:list": 0x73, "amqp:application-properties:map": 0x74, "amqp:data:binary": 0x75,
	"amqp:amqp-sequence:list": 0x76, "amqp:amqp-value:*": 0x77, "amqp:footer:map": 0x78,
}
