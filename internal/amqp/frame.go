package amqp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame types.
const (
	FrameAMQP byte = 0
	FrameSASL byte = 1
)

// Protocol headers that open the SASL layer and the AMQP layer.
var (
	HeaderSASL = [8]byte{'A', 'M', 'Q', 'P', 3, 1, 0, 0}
	HeaderAMQP = [8]byte{'A', 'M', 'Q', 'P', 0, 1, 0, 0}
)

// MinMaxFrameSize is the smallest max-frame-size a peer may announce.
const MinMaxFrameSize = 512

// Frame is one decoded frame. Body is nil for an empty (heartbeat) frame.
type Frame struct {
	Type    byte
	Channel uint16
	Body    Performative
}

// ReadFrameBytes reads one frame from r and returns its type, channel and
// body bytes (after the extended header). The body aliases buf when it fits
// in it. Frames longer than maxSize are an error.
func ReadFrameBytes(r *bufio.Reader, maxSize uint32, buf []byte) (typ byte, channel uint16, body []byte, err error) {
	var hdr [8]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	doff := uint32(hdr[4]) * 4
	if size < 8 || doff < 8 || doff > size {
		return 0, 0, nil, fmt.Errorf("amqp: malformed frame header (size %d, data offset %d)", size, doff)
	}
	if maxSize > 0 && size > maxSize {
		return 0, 0, nil, fmt.Errorf("amqp: frame of %d bytes exceeds the max-frame-size %d", size, maxSize)
	}
	n := int(size - 8)
	if cap(buf) >= n {
		body = buf[:n]
	} else {
		body = make([]byte, n)
	}
	if _, err = io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, nil, err
	}
	return hdr[5], binary.BigEndian.Uint16(hdr[6:]), body[doff-8:], nil
}

// ParseFrameBody decodes a frame body. For a transfer, the bytes after the
// performative become Transfer.Payload (aliasing body).
func ParseFrameBody(body []byte) (Performative, error) {
	if len(body) == 0 {
		return nil, nil
	}
	r := NewReader(body)
	v, err := r.Value()
	if err != nil {
		return nil, err
	}
	p, err := decodePerformative(v)
	if err != nil {
		return nil, err
	}
	if t, ok := p.(*Transfer); ok {
		t.Payload = body[r.Pos():]
	} else if r.Len() != 0 {
		return nil, fmt.Errorf("amqp: %d unexpected bytes after a %T performative", r.Len(), p)
	}
	return p, nil
}

// AppendFrame appends a complete frame holding p (and, for a transfer, its
// Payload) to b. A nil p gives an empty heartbeat frame.
func AppendFrame(b []byte, typ byte, channel uint16, p Performative) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 2, typ, byte(channel>>8), byte(channel))
	if p != nil {
		code, fields := p.fields()
		var err error
		if b, err = appendDescribedList(b, code, fields); err != nil {
			return b[:start], err
		}
		if t, ok := p.(*Transfer); ok {
			b = append(b, t.Payload...)
		}
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b, nil
}

// MarshalPerformative returns the encoding of p alone, without a frame header.
func MarshalPerformative(p Performative) ([]byte, error) {
	code, fields := p.fields()
	return appendDescribedList(nil, code, fields)
}

// AppendTransferFrame appends the header and transfer performative of a
// frame whose payload of payloadLen bytes the caller writes right after it
// (so a large message need not be copied into the frame buffer). Only the
// fields an outgoing delivery uses are written: handle, delivery-id,
// delivery-tag and message-format (when first), settled and more.
func AppendTransferFrame(b []byte, channel uint16, handle, deliveryID uint32, tag []byte, format uint32, first, settled, more bool, payloadLen int) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 2, FrameAMQP, byte(channel>>8), byte(channel))
	b = append(b, codeDescribed, codeSmallUlong, byte(descTransfer))
	b, ls := appendListHeader(b)
	b = appendUint(b, handle)
	b = appendUint(b, deliveryID)
	count := 2
	if first {
		b = AppendBinary(b, tag)
		b = appendUint(b, format)
		count = 4
	} else {
		b = append(b, codeNull, codeNull)
		count = 4
	}
	if settled || more {
		b = append(b, boolCode(settled))
		count++
	}
	if more {
		b = append(b, codeTrue)
		count++
	}
	b = finishList(b, ls, count)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start+payloadLen))
	return b
}

func boolCode(v bool) byte {
	if v {
		return codeTrue
	}
	return codeFalse
}
