package amqp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValuesRoundTripThroughTheirSmallestEncoding(t *testing.T) {
	ts := time.UnixMilli(1764756000123).UTC()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name    string
		v       any
		wantHex string // the encoding's first bytes (the constructor and width)
	}{
		{"null", nil, "40"},
		{"true", true, "41"},
		{"false", false, "42"},
		{"ubyte", uint8(200), "50c8"},
		{"ushort", uint16(65535), "60ffff"},
		{"uint zero", uint32(0), "43"},
		{"small uint", uint32(255), "52ff"},
		{"uint", uint32(256), "7000000100"},
		{"ulong zero", uint64(0), "44"},
		{"small ulong", uint64(7), "5307"},
		{"ulong", uint64(math.MaxUint64), "80ffffffffffffffff"},
		{"byte", int8(-1), "51ff"},
		{"short", int16(-2), "61fffe"},
		{"small int", int32(-128), "5480"},
		{"int", int32(math.MinInt32), "7180000000"},
		{"small long", int64(127), "557f"},
		{"long", int64(math.MaxInt64), "817fffffffffffffff"},
		{"float", float32(1.5), "723fc00000"},
		{"double", float64(-2.25), "82c002000000000000"},
		{"decimal32", Decimal32{1, 2, 3, 4}, "7401020304"},
		{"decimal64", Decimal64{1, 2, 3, 4, 5, 6, 7, 8}, "840102030405060708"},
		{"decimal128", Decimal128{15: 9}, "9400000000000000000000000000000009"},
		{"char", Char('€'), "73000020ac"},
		{"timestamp", ts, "83"},
		{"uuid", UUID{0: 0xde, 15: 0xad}, "98de"},
		{"vbin8", []byte{1, 2}, "a0020102"},
		{"vbin32", bytes.Repeat([]byte{7}, 300), "b00000012c"},
		{"str8", "héllo", "a106"},
		{"str32", long, "b10000012c"},
		{"sym8", Symbol("amqp:link:stolen"), "a310"},
		{"sym32", Symbol(long), "b30000012c"},
		{"list0", List{}, "45"},
		{"list8", List{uint32(1), "a", nil}, "c00703"},
		{"list32", List{long}, "d0"},
		{"map8", Map{{Symbol("k"), int64(1)}}, "c10602"},
		{"map32", Map{{"k", long}}, "d1"},
		{"map with non-string keys", Map{{uint64(1), true}, {List{}, nil}}, "c1"},
		{"array8 of symbols", SymbolArray("a", "bc"), "e007"},
		{"array32 of strings", StringArray(long, "b"), "f0"},
		{"array of longs", Array{Items: []any{int64(1), int64(-1)}}, "e01202"},
		{"array of lists", Array{Items: []any{List{int32(1)}, List{}}}, "e0"},
		{"array of arrays", Array{Items: []any{SymbolArray("x"), SymbolArray()}}, "e0"},
		{"array of maps", Array{Items: []any{Map{{"a", "b"}}}}, "e0"},
		{"described array", Array{Descriptor: uint64(0x75), Items: []any{Described{uint64(0x75), []byte("x")}}}, "e0"},
		{"empty array", Array{Elem: codeSym8, Items: []any{}}, "e002"},
		{"described value", Described{Symbol("com.example:x"), List{"a"}}, "00a3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := AppendValue(nil, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(enc); !strings.HasPrefix(got, tt.wantHex) {
				t.Errorf("encoding %s..., want it to start with %s", got[:min(len(got), 40)], tt.wantHex)
			}
			got, err := Unmarshal(enc)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := tt.v.(Array); ok {
				// The decoder reports the element type it read.
				ga := got.(Array)
				if !reflect.DeepEqual(ga.Items, a.Items) && !(len(ga.Items) == 0 && len(a.Items) == 0) || !reflect.DeepEqual(ga.Descriptor, a.Descriptor) {
					t.Errorf("decoded %#v, want %#v", got, tt.v)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.v) {
				t.Errorf("decoded %#v, want %#v", got, tt.v)
			}
		})
	}
}

func TestTheDecoderReadsEveryWidthOfEachType(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want any
	}{
		{"uint written in full width", "7000000005", uint32(5)},
		{"ulong written in full width", "800000000000000000", uint64(0)},
		{"int written in full width", "71fffffffe", int32(-2)},
		{"long written in full width", "81fffffffffffffffe", int64(-2)},
		{"boolean in its one-byte form", "5601", true},
		{"string in str32", "b10000000161", "a"},
		{"symbol in sym32", "b30000000161", Symbol("a")},
		{"binary in vbin32", "b00000000101", []byte{1}},
		{"list in list32", "d000000006000000014101", nil},
		{"empty list in list8", "c00100", List{}},
		{"map in map32", "d1000000080000000241a10162", Map{{true, "b"}}},
		{"array of booleans in true form", "e0020241", Array{Elem: codeTrue, Items: []any{true, true}}},
		{"array in array32", "f0000000070000000152000000", nil},
		{"symbolic descriptor of a list", "00a30e616d71703a6f70656e3a6c69737445", Described{Symbol("amqp:open:list"), List{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			got, err := Unmarshal(b)
			if tt.want == nil {
				// Malformed on purpose: the sizes do not match the items.
				if err == nil {
					t.Fatalf("decoded %#v from a malformed encoding, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decoded %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestMalformedInputIsAnErrorWithItsPlace(t *testing.T) {
	tests := []struct{ name, hex, want string }{
		{"an unknown type code", "0f", "unknown type code"},
		{"a truncated uint", "7000", "unexpected end"},
		{"a string longer than the data", "a105616263", "unexpected end"},
		{"a list count beyond its size", "c002ff40", "count larger"},
		{"a map with an odd count", "c1020140", "odd number"},
		{"a boolean byte of 2", "5602", "neither 0 nor 1"},
		{"a descriptor that is a string", "00a10178", "descriptor"},
		{"trailing bytes", "4040", "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			_, err := Unmarshal(b)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "at byte") {
				t.Errorf("error %v, want one saying %q at a byte offset", err, tt.want)
			}
		})
	}
}

func TestDeeplyNestedValuesAreRefusedNotOverflowingTheStack(t *testing.T) {
	b := []byte{codeNull}
	for i := 0; i < 200; i++ {
		b = append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte{codeList32}, uint32(len(b)+4)), 1), b...)
	}
	if _, err := Unmarshal(b); err == nil || !strings.Contains(err.Error(), "too deep") {
		t.Fatalf("error %v, want nesting refused", err)
	}
}

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }
func u8(v uint8) *uint8    { return &v }
func bp(v bool) *bool      { return &v }

func TestPerformativesRoundTripThroughFrames(t *testing.T) {
	tests := []struct {
		name string
		typ  byte
		p    Performative
	}{
		{"open", FrameAMQP, &Open{ContainerID: "c", Hostname: "127.0.0.1:5672", MaxFrameSize: 65536, ChannelMax: 65535,
			IdleTimeout: 30000, DesiredCapabilities: []Symbol{"x"}, Properties: Map{{Symbol("product"), "MSGolangClient"}}}},
		{"begin", FrameAMQP, &Begin{RemoteChannel: u16(3), NextOutgoingID: 1, IncomingWindow: 5000, OutgoingWindow: 5000, HandleMax: 7}},
		{"attach with terminus and filter", FrameAMQP, &Attach{Name: "l", Handle: 2, Role: RoleReceiver, SndSettleMode: u8(SndSettleSettled),
			RcvSettleMode: u8(RcvSettleFirst), InitialDeliveryCount: u32(0), MaxMessageSize: 1 << 20,
			Source: &Source{Address: "hub/ConsumerGroups/$Default/Partitions/0", Filter: Map{{Symbol("apache.org:selector-filter:string"),
				Described{uint64(0x468C00000004), "amqp.annotation.x-opt-offset > '-1'"}}}, Outcomes: []Symbol{"amqp:accepted:list"}},
			Target: &Target{Address: "t", Capabilities: []Symbol{"c"}}, DesiredCapabilities: []Symbol{"com.microsoft:georeplication"},
			Properties: Map{{Symbol("com.microsoft:epoch"), int64(0)}}}},
		{"flow", FrameAMQP, &Flow{NextIncomingID: u32(5), IncomingWindow: 5000, NextOutgoingID: 9, OutgoingWindow: 10, Handle: u32(1),
			DeliveryCount: u32(3), LinkCredit: u32(300), Drain: true, Echo: true}},
		{"transfer with payload", FrameAMQP, &Transfer{Handle: 1, DeliveryID: u32(4), DeliveryTag: []byte{0, 1}, MessageFormat: u32(0x80013700),
			Settled: bp(true), More: true, State: &Received{SectionNumber: 1, SectionOffset: 2}, Payload: []byte("payload")}},
		{"disposition accepted", FrameAMQP, &Disposition{Role: RoleReceiver, First: 1, Last: u32(4), Settled: true, State: &Accepted{}}},
		{"disposition rejected", FrameAMQP, &Disposition{Role: RoleReceiver, First: 1, Settled: true,
			State: &Rejected{Error: &Error{Condition: "amqp:link:message-size-exceeded", Description: "too big"}}}},
		{"disposition released", FrameAMQP, &Disposition{First: 2, State: &Released{}}},
		{"disposition modified", FrameAMQP, &Disposition{First: 2, State: &Modified{DeliveryFailed: true, MessageAnnotations: Map{{Symbol("a"), "b"}}}}},
		{"detach with error", FrameAMQP, &Detach{Handle: 3, Closed: true, Error: &Error{Condition: "amqp:link:stolen", Description: "d",
			Info: Map{{Symbol("k"), "v"}}}}},
		{"end", FrameAMQP, &End{}},
		{"close with error", FrameAMQP, &Close{Error: &Error{Condition: "amqp:connection:forced"}}},
		{"sasl-mechanisms", FrameSASL, &SASLMechanisms{Mechanisms: []Symbol{"ANONYMOUS", "PLAIN"}}},
		{"sasl-init", FrameSASL, &SASLInit{Mechanism: "ANONYMOUS", InitialResponse: []byte("x"), Hostname: "h"}},
		{"sasl-challenge", FrameSASL, &SASLChallenge{Challenge: []byte("c")}},
		{"sasl-response", FrameSASL, &SASLResponse{Response: []byte("r")}},
		{"sasl-outcome", FrameSASL, &SASLOutcome{Code: SASLAuth, AdditionalData: []byte("no")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := AppendFrame(nil, tt.typ, 7, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			typ, ch, body, err := ReadFrameBytes(bufio.NewReader(bytes.NewReader(frame)), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if typ != tt.typ || ch != 7 {
				t.Errorf("frame type %d channel %d, want %d and 7", typ, ch, tt.typ)
			}
			got, err := ParseFrameBody(body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.p) {
				t.Errorf("decoded\n%#v\nwant\n%#v", got, tt.p)
			}
		})
	}
}

func TestTheTransferFastPathDecodesLikeATransfer(t *testing.T) {
	tests := []struct {
		name                 string
		first, settled, more bool
	}{
		{"a whole settled delivery", true, true, false},
		{"the first frame of a long delivery", true, true, true},
		{"a continuation frame", false, true, true},
		{"the last unsettled frame", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte("event bytes")
			b := AppendTransferFrame(nil, 3, 9, 70000, []byte{0, 0, 1, 0}, 0, tt.first, tt.settled, tt.more, len(payload))
			b = append(b, payload...)
			_, ch, body, err := ReadFrameBytes(bufio.NewReader(bytes.NewReader(b)), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseFrameBody(body)
			if err != nil {
				t.Fatal(err)
			}
			tr := p.(*Transfer)
			if ch != 3 || tr.Handle != 9 || *tr.DeliveryID != 70000 || tr.More != tt.more || string(tr.Payload) != "event bytes" {
				t.Errorf("decoded %+v on channel %d", tr, ch)
			}
			if (tr.DeliveryTag != nil) != tt.first || (tr.MessageFormat != nil) != tt.first {
				t.Errorf("tag %v format %v, want them only on the first frame", tr.DeliveryTag, tr.MessageFormat)
			}
			if settled := tr.Settled != nil && *tr.Settled; settled != tt.settled {
				t.Errorf("settled %v, want %v", settled, tt.settled)
			}
		})
	}
}

func TestFramesLargerThanTheMaxFrameSizeAreRefused(t *testing.T) {
	frame, _ := AppendFrame(nil, FrameAMQP, 0, &Transfer{Handle: 1, Payload: make([]byte, 1000)})
	_, _, _, err := ReadFrameBytes(bufio.NewReader(bytes.NewReader(frame)), 512, nil)
	if err == nil || !strings.Contains(err.Error(), "exceeds the max-frame-size 512") {
		t.Fatalf("error %v, want the frame refused for its size", err)
	}
}

func TestAnEmptyFrameIsAHeartbeat(t *testing.T) {
	_, _, body, err := ReadFrameBytes(bufio.NewReader(bytes.NewReader([]byte{0, 0, 0, 8, 2, 0, 0, 0})), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ParseFrameBody(body); p != nil || err != nil {
		t.Fatalf("heartbeat decoded as %v, %v; want nothing", p, err)
	}
}

func TestMessagesRoundTripWithEverySection(t *testing.T) {
	ts := time.UnixMilli(1764756000123).UTC()
	str := func(s string) *string { return &s }
	sym := func(s Symbol) *Symbol { return &s }
	m := &Message{
		Header:                &Header{Durable: true, Priority: u8(4), TTL: u32(1000), FirstAcquirer: true, DeliveryCount: 2},
		DeliveryAnnotations:   Map{{Symbol("d"), int64(1)}},
		MessageAnnotations:    Map{{Symbol("x-opt-sequence-number"), int64(42)}, {Symbol("x-opt-offset"), "4096"}, {Symbol("x-opt-enqueued-time"), ts}},
		Properties:            &Properties{MessageID: "id-1", UserID: []byte("u"), To: str("to"), Subject: str("s"), ReplyTo: str("r"), CorrelationID: UUID{1}, ContentType: sym("application/json"), ContentEncoding: sym("gzip"), AbsoluteExpiryTime: &ts, CreationTime: &ts, GroupID: str("g"), GroupSequence: u32(3), ReplyToGroupID: str("rg")},
		ApplicationProperties: Map{{"operation", "put-token"}, {"status-code", int32(202)}},
		Data:                  [][]byte{[]byte("one"), []byte("two")},
		Footer:                Map{{Symbol("f"), true}},
	}
	enc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Message
	if err := got.Unmarshal(enc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, m) {
		t.Errorf("decoded\n%#v\nwant\n%#v", got, *m)
	}
	for _, body := range []Message{{Value: "token", HasValue: true}, {Value: nil, HasValue: true}, {Sequence: []List{{int64(1)}, {"a"}}}} {
		enc, err := body.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var got Message
		if err := got.Unmarshal(enc); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, body) {
			t.Errorf("decoded %#v, want %#v", got, body)
		}
	}
}

func TestMessagesWithSectionsOutOfOrderAreRefused(t *testing.T) {
	props, _ := (&Message{Properties: &Properties{MessageID: "x"}}).Marshal()
	header, _ := (&Message{Header: &Header{Durable: true}}).Marshal()
	data, _ := (&Message{Data: [][]byte{[]byte("d")}}).Marshal()
	value, _ := (&Message{Value: "v", HasValue: true}).Marshal()
	tests := []struct {
		name string
		b    []byte
	}{
		{"a header after the properties", append(append([]byte(nil), props...), header...)},
		{"a value section after a data section", append(append([]byte(nil), data...), value...)},
		{"two value sections", append(append([]byte(nil), value...), value...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			if err := m.Unmarshal(tt.b); err == nil || !strings.Contains(err.Error(), "out of order") {
				t.Errorf("error %v, want the order refused", err)
			}
		})
	}
}
