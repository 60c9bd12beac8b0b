package amqp

import (
	"bufio"
	"bytes"
	"testing"
	"time"
)

func eventMessage(size int) *Message {
	return &Message{
		MessageAnnotations: Map{{Symbol("x-opt-sequence-number"), int64(123456)}, {Symbol("x-opt-offset"), "987654321"},
			{Symbol("x-opt-enqueued-time"), time.UnixMilli(1764756000123).UTC()}, {Symbol("x-opt-partition-key"), "tenant"}},
		Properties:            &Properties{MessageID: "5d0f3a9e-1111-4c1e-9f00-000000000001"},
		ApplicationProperties: Map{{"category", "SignInLogs"}},
		Data:                  [][]byte{make([]byte, size)},
	}
}

// BenchmarkMessageMarshal measures encoding a 4 KiB event with the
// annotations the server adds.
func BenchmarkMessageMarshal(b *testing.B) {
	m := eventMessage(4 << 10)
	var buf []byte
	b.SetBytes(4 << 10)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = m.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageUnmarshal measures decoding a 4 KiB event, as the server
// does for every event a producer sends.
func BenchmarkMessageUnmarshal(b *testing.B) {
	enc, _ := eventMessage(4 << 10).Marshal()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	var m Message
	for b.Loop() {
		if err := m.Unmarshal(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadTransferFrame measures reading and parsing one transfer
// frame of a 4 KiB event.
func BenchmarkReadTransferFrame(b *testing.B) {
	enc, _ := eventMessage(4 << 10).Marshal()
	frame := AppendTransferFrame(nil, 1, 2, 3, []byte{0, 0, 0, 3}, 0, true, true, false, len(enc))
	frame = append(frame, enc...)
	rd := bytes.NewReader(frame)
	br := bufio.NewReaderSize(rd, 64<<10)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(frame)
		br.Reset(rd)
		_, _, body, err := ReadFrameBytes(br, 0, buf)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseFrameBody(body); err != nil {
			b.Fatal(err)
		}
	}
}
