package amqp

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AppendValue appends the AMQP encoding of v to b, in its smallest width.
func AppendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, codeNull), nil
	case bool:
		if v {
			return append(b, codeTrue), nil
		}
		return append(b, codeFalse), nil
	case uint8:
		return append(b, codeUbyte, v), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(b, codeUshort), v), nil
	case uint32:
		return appendUint(b, v), nil
	case uint64:
		return appendUlong(b, v), nil
	case int8:
		return append(b, codeByte, byte(v)), nil
	case int16:
		return binary.BigEndian.AppendUint16(append(b, codeShort), uint16(v)), nil
	case int32:
		if v >= math.MinInt8 && v <= math.MaxInt8 {
			return append(b, codeSmallInt, byte(int8(v))), nil
		}
		return binary.BigEndian.AppendUint32(append(b, codeInt), uint32(v)), nil
	case int64:
		return appendLong(b, v), nil
	case int:
		return appendLong(b, int64(v)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(b, codeFloat), math.Float32bits(v)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, codeDouble), math.Float64bits(v)), nil
	case Decimal32:
		return append(append(b, codeDecimal32), v[:]...), nil
	case Decimal64:
		return append(append(b, codeDecimal64), v[:]...), nil
	case Decimal128:
		return append(append(b, codeDecimal128), v[:]...), nil
	case Char:
		return binary.BigEndian.AppendUint32(append(b, codeChar), uint32(v)), nil
	case time.Time:
		return AppendTimestamp(b, v), nil
	case UUID:
		return append(append(b, codeUUID), v[:]...), nil
	case []byte:
		return AppendBinary(b, v), nil
	case string:
		return AppendString(b, v), nil
	case Symbol:
		return AppendSymbol(b, v), nil
	case List:
		return appendList(b, v)
	case Map:
		return appendMap(b, v)
	case Array:
		return appendArray(b, v)
	case Described:
		b = append(b, codeDescribed)
		b, err := AppendValue(b, v.Descriptor)
		if err != nil {
			return b, err
		}
		return AppendValue(b, v.Value)
	case describedFields:
		return v.appendTo(b)
	case *Error:
		if v == nil {
			return append(b, codeNull), nil
		}
		return v.appendTo(b)
	case DeliveryState:
		if v == nil {
			return append(b, codeNull), nil
		}
		return v.appendTo(b)
	}
	return b, fmt.Errorf("amqp: cannot encode a value of Go type %T", v)
}

// AppendTimestamp appends an AMQP timestamp (milliseconds since the epoch).
func AppendTimestamp(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(append(b, codeTimestamp), uint64(t.UnixMilli()))
}

// AppendString appends an AMQP string (str8 or str32).
func AppendString(b []byte, s string) []byte {
	if len(s) < 256 {
		return append(append(b, codeStr8, byte(len(s))), s...)
	}
	return append(binary.BigEndian.AppendUint32(append(b, codeStr32), uint32(len(s))), s...)
}

// AppendSymbol appends an AMQP symbol (sym8 or sym32).
func AppendSymbol(b []byte, s Symbol) []byte {
	if len(s) < 256 {
		return append(append(b, codeSym8, byte(len(s))), s...)
	}
	return append(binary.BigEndian.AppendUint32(append(b, codeSym32), uint32(len(s))), s...)
}

// AppendBinary appends AMQP binary (vbin8 or vbin32).
func AppendBinary(b []byte, v []byte) []byte {
	if len(v) < 256 {
		return append(append(b, codeVbin8, byte(len(v))), v...)
	}
	return append(binary.BigEndian.AppendUint32(append(b, codeVbin32), uint32(len(v))), v...)
}

func appendUint(b []byte, v uint32) []byte {
	switch {
	case v == 0:
		return append(b, codeUint0)
	case v < 256:
		return append(b, codeSmallUint, byte(v))
	}
	return binary.BigEndian.AppendUint32(append(b, codeUint), v)
}

func appendUlong(b []byte, v uint64) []byte {
	switch {
	case v == 0:
		return append(b, codeUlong0)
	case v < 256:
		return append(b, codeSmallUlong, byte(v))
	}
	return binary.BigEndian.AppendUint64(append(b, codeUlong), v)
}

func appendLong(b []byte, v int64) []byte {
	if v >= math.MinInt8 && v <= math.MaxInt8 {
		return append(b, codeSmallLong, byte(int8(v)))
	}
	return binary.BigEndian.AppendUint64(append(b, codeLong), uint64(v))
}

// appendListHeader reserves a list32 header at the end of b and returns the
// position to patch with finishList once the items are written.
func appendListHeader(b []byte) ([]byte, int) {
	start := len(b)
	return append(b, codeList32, 0, 0, 0, 0, 0, 0, 0, 0), start
}

// finishList patches the list32 header at start with the size and count, or
// shrinks it to list0 / list8 when that fits.
func finishList(b []byte, start, count int) []byte {
	body := len(b) - start - 9
	switch {
	case count == 0:
		b = b[:start]
		return append(b, codeList0)
	case body+1 < 256 && count < 256:
		b[start] = codeList8
		b[start+1] = byte(body + 1)
		b[start+2] = byte(count)
		copy(b[start+3:], b[start+9:])
		return b[:len(b)-6]
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(body+4))
	binary.BigEndian.PutUint32(b[start+5:], uint32(count))
	return b
}

func appendList(b []byte, l List) ([]byte, error) {
	b, start := appendListHeader(b)
	var err error
	for _, v := range l {
		if b, err = AppendValue(b, v); err != nil {
			return b, err
		}
	}
	return finishList(b, start, len(l)), nil
}

func appendMap(b []byte, m Map) ([]byte, error) {
	start := len(b)
	b = append(b, codeMap32, 0, 0, 0, 0, 0, 0, 0, 0)
	var err error
	for _, e := range m {
		if b, err = AppendValue(b, e.Key); err != nil {
			return b, err
		}
		if b, err = AppendValue(b, e.Value); err != nil {
			return b, err
		}
	}
	body := len(b) - start - 9
	count := 2 * len(m)
	if body+1 < 256 && count < 256 {
		b[start] = codeMap8
		b[start+1] = byte(body + 1)
		b[start+2] = byte(count)
		copy(b[start+3:], b[start+9:])
		return b[:len(b)-6], nil
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(body+4))
	binary.BigEndian.PutUint32(b[start+5:], uint32(count))
	return b, nil
}

// elemCode returns the type code an array of items encodes its elements with.
func elemCode(items []any) (byte, error) {
	if len(items) == 0 {
		return codeNull, nil
	}
	switch v := items[0].(type) {
	case nil:
		return codeNull, nil
	case bool:
		return codeBool, nil
	case uint8:
		return codeUbyte, nil
	case uint16:
		return codeUshort, nil
	case uint32:
		return codeUint, nil
	case uint64:
		return codeUlong, nil
	case int8:
		return codeByte, nil
	case int16:
		return codeShort, nil
	case int32:
		return codeInt, nil
	case int64, int:
		return codeLong, nil
	case float32:
		return codeFloat, nil
	case float64:
		return codeDouble, nil
	case Decimal32:
		return codeDecimal32, nil
	case Decimal64:
		return codeDecimal64, nil
	case Decimal128:
		return codeDecimal128, nil
	case Char:
		return codeChar, nil
	case time.Time:
		return codeTimestamp, nil
	case UUID:
		return codeUUID, nil
	case []byte:
		return codeVbin8, nil
	case string:
		return codeStr8, nil
	case Symbol:
		return codeSym8, nil
	case List:
		return codeList32, nil
	case Map:
		return codeMap32, nil
	case Array:
		return codeArray32, nil
	default:
		return 0, fmt.Errorf("amqp: cannot encode an array of Go type %T", v)
	}
}

// widen maps a type code to the code of the same type that every element of
// an array can share: variable widths go to 32 bits when an item needs it,
// the zero-width and small forms of numbers to their full widths.
func widen(code byte, items []any) byte {
	switch code {
	case codeUint0, codeSmallUint:
		return codeUint
	case codeUlong0, codeSmallUlong:
		return codeUlong
	case codeSmallInt:
		return codeInt
	case codeSmallLong:
		return codeLong
	case codeTrue, codeFalse:
		return codeBool
	case codeList0, codeList8:
		return codeList32
	case codeMap8:
		return codeMap32
	case codeArray8:
		return codeArray32
	case codeVbin8, codeStr8, codeSym8:
		for _, it := range items {
			if d, ok := it.(Described); ok {
				it = d.Value
			}
			n := 0
			switch v := it.(type) {
			case []byte:
				n = len(v)
			case string:
				n = len(v)
			case Symbol:
				n = len(v)
			}
			if n > 255 {
				return code + 0x10
			}
		}
	}
	return code
}

func appendArray(b []byte, a Array) ([]byte, error) {
	code := a.Elem
	var err error
	if code == 0 {
		items := a.Items
		if a.Descriptor != nil && len(items) > 0 {
			if d, ok := items[0].(Described); ok {
				items = []any{d.Value}
			}
		}
		if code, err = elemCode(items); err != nil {
			return b, err
		}
	}
	code = widen(code, a.Items)
	start := len(b)
	b = append(b, codeArray32, 0, 0, 0, 0, 0, 0, 0, 0)
	if a.Descriptor != nil {
		b = append(b, codeDescribed)
		if b, err = AppendValue(b, a.Descriptor); err != nil {
			return b, err
		}
	}
	b = append(b, code)
	for _, it := range a.Items {
		if d, ok := it.(Described); ok && a.Descriptor != nil {
			it = d.Value
		}
		if b, err = appendElem(b, code, it); err != nil {
			return b, err
		}
	}
	body := len(b) - start - 9
	if body+1 < 256 && len(a.Items) < 256 {
		b[start] = codeArray8
		b[start+1] = byte(body + 1)
		b[start+2] = byte(len(a.Items))
		copy(b[start+3:], b[start+9:])
		return b[:len(b)-6], nil
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(body+4))
	binary.BigEndian.PutUint32(b[start+5:], uint32(len(a.Items)))
	return b, nil
}

// appendElem appends one array element in the array's shared encoding: the
// value without its constructor.
func appendElem(b []byte, code byte, v any) ([]byte, error) {
	bad := func() ([]byte, error) {
		return b, fmt.Errorf("amqp: array of type 0x%02x cannot hold a %T", code, v)
	}
	switch code {
	case codeNull:
		if v != nil {
			return bad()
		}
		return b, nil
	case codeBool:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		if x {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case codeUbyte:
		x, ok := v.(uint8)
		if !ok {
			return bad()
		}
		return append(b, x), nil
	case codeByte:
		x, ok := v.(int8)
		if !ok {
			return bad()
		}
		return append(b, byte(x)), nil
	case codeUshort:
		x, ok := v.(uint16)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint16(b, x), nil
	case codeShort:
		x, ok := v.(int16)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint16(b, uint16(x)), nil
	case codeUint:
		x, ok := v.(uint32)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint32(b, x), nil
	case codeInt:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint32(b, uint32(x)), nil
	case codeFloat:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint32(b, math.Float32bits(x)), nil
	case codeChar:
		x, ok := v.(Char)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint32(b, uint32(x)), nil
	case codeDecimal32:
		x, ok := v.(Decimal32)
		if !ok {
			return bad()
		}
		return append(b, x[:]...), nil
	case codeUlong:
		x, ok := v.(uint64)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint64(b, x), nil
	case codeLong:
		switch x := v.(type) {
		case int64:
			return binary.BigEndian.AppendUint64(b, uint64(x)), nil
		case int:
			return binary.BigEndian.AppendUint64(b, uint64(x)), nil
		}
		return bad()
	case codeDouble:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x)), nil
	case codeTimestamp:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint64(b, uint64(x.UnixMilli())), nil
	case codeDecimal64:
		x, ok := v.(Decimal64)
		if !ok {
			return bad()
		}
		return append(b, x[:]...), nil
	case codeDecimal128:
		x, ok := v.(Decimal128)
		if !ok {
			return bad()
		}
		return append(b, x[:]...), nil
	case codeUUID:
		x, ok := v.(UUID)
		if !ok {
			return bad()
		}
		return append(b, x[:]...), nil
	case codeVbin8, codeStr8, codeSym8, codeVbin32, codeStr32, codeSym32:
		var s string
		switch x := v.(type) {
		case []byte:
			if code&0x0f != 0 {
				return bad()
			}
			s = string(x)
		case string:
			if code&0x0f != 1 {
				return bad()
			}
			s = x
		case Symbol:
			if code&0x0f != 3 {
				return bad()
			}
			s = string(x)
		default:
			return bad()
		}
		if code >= codeVbin32 {
			b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		} else {
			b = append(b, byte(len(s)))
		}
		return append(b, s...), nil
	case codeList32, codeMap32, codeArray32:
		var err error
		switch code {
		case codeList32:
			if _, ok := v.(List); !ok {
				return bad()
			}
		case codeMap32:
			if _, ok := v.(Map); !ok {
				return bad()
			}
		case codeArray32:
			if _, ok := v.(Array); !ok {
				return bad()
			}
		}
		start := len(b)
		if b, err = AppendValue(b, v); err != nil {
			return b, err
		}
		// Re-encode the header in 32-bit form without its constructor.
		return to32(b, start)
	}
	return bad()
}

// to32 rewrites the compound value encoded at b[start:] into the 32-bit form
// that an array's shared constructor requires, dropping the constructor byte.
func to32(b []byte, start int) ([]byte, error) {
	enc := b[start:]
	var size, count uint32
	var body []byte
	switch enc[0] {
	case codeList0:
		body = nil
	case codeList8, codeMap8, codeArray8:
		size, count = uint32(enc[1]), uint32(enc[2])
		body = enc[3 : 2+size]
	case codeList32, codeMap32, codeArray32:
		out := append([]byte(nil), enc[1:]...)
		return append(b[:start], out...), nil
	default:
		return b, fmt.Errorf("amqp: array element of type 0x%02x is not compound", enc[0])
	}
	out := make([]byte, 0, 8+len(body))
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)+4))
	out = binary.BigEndian.AppendUint32(out, count)
	out = append(out, body...)
	return append(b[:start], out...), nil
}
