package amqp

import (
	"bufio"
	"bytes"
	"testing"
	"time"
)

// Each target checks that decoding never panics and that whatever decodes
// re-encodes to a stable form: encode(decode(encode(decode(x)))) equals
// encode(decode(x)). Seeds live in testdata/fuzz and below.

func seedValues() [][]byte {
	var out [][]byte
	for _, v := range []any{nil, true, uint32(300), int64(-5), "s", Symbol("sym"), []byte{1}, time.UnixMilli(1).UTC(), UUID{1},
		List{uint8(1), Map{{"k", Array{Items: []any{int32(1), int32(2)}}}}}, SymbolArray("a", "b"), Described{uint64(0x77), "v"},
		Array{Descriptor: Symbol("d"), Items: []any{Described{Symbol("d"), "x"}}}, Char('x'), Decimal64{1}, float32(1), float64(2)} {
		b, _ := AppendValue(nil, v)
		out = append(out, b)
	}
	return out
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range seedValues() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unmarshal(b)
		if err != nil {
			return
		}
		enc1, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("cannot re-encode %#v: %v", v, err)
		}
		v2, err := Unmarshal(enc1)
		if err != nil {
			t.Fatalf("cannot decode our own encoding % x of %#v: %v", enc1, v, err)
		}
		enc2, err := AppendValue(nil, v2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("unstable encoding:\n% x\n% x", enc1, enc2)
		}
	})
}

func FuzzParseFrameBody(f *testing.F) {
	for _, p := range []Performative{
		&Open{ContainerID: "c", MaxFrameSize: 65536, IdleTimeout: 30000},
		&Begin{NextOutgoingID: 1, IncomingWindow: 5000, OutgoingWindow: 5000},
		&Attach{Name: "l", Handle: 1, Role: RoleReceiver, Source: &Source{Address: "a", Filter: Map{{Symbol("f"), Described{uint64(1), "x > '1'"}}}}, Target: &Target{Address: "t"}},
		&Flow{IncomingWindow: 1, NextOutgoingID: 2, OutgoingWindow: 3, Handle: u32(1), LinkCredit: u32(300)},
		&Transfer{Handle: 1, DeliveryID: u32(0), DeliveryTag: []byte{1}, Payload: []byte("m")},
		&Disposition{Role: RoleReceiver, First: 1, Settled: true, State: &Rejected{Error: &Error{Condition: "c"}}},
		&Detach{Handle: 1, Closed: true, Error: &Error{Condition: "amqp:link:stolen"}},
		&End{}, &Close{}, &SASLInit{Mechanism: "ANONYMOUS"}, &SASLOutcome{},
	} {
		b, _ := AppendFrame(nil, FrameAMQP, 0, p)
		f.Add(b[8:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseFrameBody(body)
		if err != nil || p == nil {
			return
		}
		enc1, err := AppendFrame(nil, FrameAMQP, 0, p)
		if err != nil {
			t.Fatalf("cannot re-encode %#v: %v", p, err)
		}
		_, _, body2, err := ReadFrameBytes(bufio.NewReader(bytes.NewReader(enc1)), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := ParseFrameBody(body2)
		if err != nil {
			t.Fatalf("cannot decode our own frame % x of %#v: %v", enc1, p, err)
		}
		enc2, _ := AppendFrame(nil, FrameAMQP, 0, p2)
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("unstable frame encoding:\n% x\n% x", enc1, enc2)
		}
	})
}

func FuzzMessageUnmarshal(f *testing.F) {
	for _, m := range []*Message{
		{Data: [][]byte{[]byte("x")}, MessageAnnotations: Map{{Symbol("x-opt-offset"), "1"}}},
		{Properties: &Properties{MessageID: "id"}, ApplicationProperties: Map{{"operation", "READ"}}, Value: "v", HasValue: true},
		{Header: &Header{Durable: true}, Sequence: []List{{int64(1)}}, Footer: Map{}},
	} {
		b, _ := m.Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.Unmarshal(b); err != nil {
			return
		}
		enc1, err := m.Marshal()
		if err != nil {
			t.Fatalf("cannot re-encode %#v: %v", m, err)
		}
		var m2 Message
		if err := m2.Unmarshal(enc1); err != nil {
			t.Fatalf("cannot decode our own encoding % x: %v", enc1, err)
		}
		enc2, _ := m2.Marshal()
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("unstable message encoding:\n% x\n% x", enc1, enc2)
		}
	})
}
