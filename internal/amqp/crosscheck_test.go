package amqp_test

import (
	"reflect"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/streamhunt/streamhunt/internal/amqp"
)

// These tests check the codec against go-amqp (the client the Event Hubs SDK
// uses) through its exported Message.MarshalBinary and UnmarshalBinary only.

func ptr[T any](v T) *T { return &v }

// goMessages are messages as the SDK builds them: events, batches envelopes,
// $cbs and $management requests, and one with every section.
func goMessages() map[string]*goamqp.Message {
	ts := time.UnixMilli(1764756000123).UTC()
	return map[string]*goamqp.Message{
		"an event with properties and a partition key": {
			Annotations:           goamqp.Annotations{"x-opt-partition-key": "alice"},
			Properties:            &goamqp.MessageProperties{MessageID: "5d0f3a9e-1111-4c1e-9f00-000000000001", ContentType: ptr("application/json")},
			ApplicationProperties: map[string]any{"tenant": "contoso", "count": int64(3), "ok": true},
			Data:                  [][]byte{[]byte(`{"records":[]}`)},
		},
		"a put-token request": {
			Properties: &goamqp.MessageProperties{MessageID: "id-7", ReplyTo: ptr("$cbs$$cbs-reply-to-x")},
			ApplicationProperties: map[string]any{"operation": "put-token", "type": "servicebus.windows.net:sastoken",
				"name": "amqp://127.0.0.1:5672/hub", "expiration": "1764756000"},
			Value: "SharedAccessSignature sr=x&sig=y&se=1&skn=k",
		},
		"a management response with typed values": {
			Properties:            &goamqp.MessageProperties{CorrelationID: uint64(9)},
			ApplicationProperties: map[string]any{"status-code": int32(200)},
			Value: map[string]any{"name": "hub", "created_at": ts, "partition_ids": []string{"0", "1"},
				"georeplication_factor": int32(1), "begin_sequence_number": int64(-1)},
		},
		"every section": {
			Header:              &goamqp.MessageHeader{Durable: true, Priority: 7, TTL: 5 * time.Second, FirstAcquirer: true, DeliveryCount: 2},
			DeliveryAnnotations: goamqp.Annotations{"d": int32(1)},
			Annotations:         goamqp.Annotations{"x-opt-sequence-number": int64(42), "x-opt-offset": "4096", "x-opt-enqueued-time": ts, int64(5): "numeric key"},
			Properties: &goamqp.MessageProperties{MessageID: []byte{1, 2}, UserID: []byte("u"), To: ptr("to"), Subject: ptr("s"),
				ReplyTo: ptr("r"), CorrelationID: goamqp.UUID{1, 2, 3}, ContentType: ptr("text/plain"), ContentEncoding: ptr("gzip"),
				AbsoluteExpiryTime: &ts, CreationTime: &ts, GroupID: ptr("g"), GroupSequence: ptr(uint32(3)), ReplyToGroupID: ptr("rg")},
			ApplicationProperties: map[string]any{"f": float64(1.5), "b": []byte{9}, "u": uint16(7), "s": []string{"a", "b"}},
			Sequence:              [][]any{{int64(1), "two"}, {true}},
			Footer:                goamqp.Annotations{"f": "x"},
		},
	}
}

func TestMessagesGoAMQPEncodesDecodeAndReencodeToTheSameMessage(t *testing.T) {
	for name, gm := range goMessages() {
		t.Run(name, func(t *testing.T) {
			goBytes, err := gm.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var want goamqp.Message
			if err := want.UnmarshalBinary(goBytes); err != nil {
				t.Fatal(err)
			}
			var m amqp.Message
			if err := m.Unmarshal(goBytes); err != nil {
				t.Fatalf("our decoder refused go-amqp's encoding: %v", err)
			}
			ours, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var got goamqp.Message
			if err := got.UnmarshalBinary(ours); err != nil {
				t.Fatalf("go-amqp refused our encoding: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("go-amqp decodes our re-encoding as\n%#v\nwant\n%#v", got, want)
			}
		})
	}
}

func TestMessagesWeEncodeDecodeInGoAMQPAsTheSDKReadsThem(t *testing.T) {
	ts := time.UnixMilli(1764756000123).UTC()
	m := &amqp.Message{
		MessageAnnotations: amqp.Map{
			{Key: amqp.Symbol("x-opt-sequence-number"), Value: int64(7)},
			{Key: amqp.Symbol("x-opt-offset"), Value: "1024"},
			{Key: amqp.Symbol("x-opt-enqueued-time"), Value: ts},
			{Key: amqp.Symbol("x-opt-partition-key"), Value: "alice"},
		},
		Properties:            &amqp.Properties{MessageID: "m1", CorrelationID: amqp.UUID{7}},
		ApplicationProperties: amqp.Map{{Key: "status-code", Value: int32(202)}, {Key: "tags", Value: amqp.StringArray("a", "b")}},
		Data:                  [][]byte{[]byte("body")},
	}
	enc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(enc); err != nil {
		t.Fatalf("go-amqp refused our encoding: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"sequence number annotation", gm.Annotations["x-opt-sequence-number"], int64(7)},
		{"offset annotation is a string", gm.Annotations["x-opt-offset"], "1024"},
		{"enqueued time annotation is a timestamp", gm.Annotations["x-opt-enqueued-time"], ts},
		{"partition key", gm.Annotations["x-opt-partition-key"], "alice"},
		{"message id", gm.Properties.MessageID, "m1"},
		{"correlation id", gm.Properties.CorrelationID, goamqp.UUID{7}},
		{"status code is an int32", gm.ApplicationProperties["status-code"], int32(202)},
		{"an array of strings is a []string", gm.ApplicationProperties["tags"], []string{"a", "b"}},
		{"body", gm.GetData(), []byte("body")},
	}
	for _, c := range checks {
		if gt, ok := c.got.(time.Time); ok {
			c.got = gt.UTC() // go-amqp decodes timestamps in the local zone
		}
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: go-amqp decoded %#v, want %#v", c.name, c.got, c.want)
		}
	}
	// And back: go-amqp's encoding of what it decoded is what we sent.
	back, err := gm.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var again amqp.Message
	if err := again.Unmarshal(back); err != nil {
		t.Fatal(err)
	}
	if seq, _ := again.MessageAnnotations.Get(amqp.Symbol("x-opt-sequence-number")); seq != int64(7) || string(again.Data[0]) != "body" {
		t.Errorf("after go-amqp re-encoded it: annotations %v data %q", again.MessageAnnotations, again.Data)
	}
}
