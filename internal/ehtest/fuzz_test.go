package ehtest_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/amqp"
	"github.com/streamhunt/streamhunt/internal/ehtest"
)

// FuzzServerFrames sends arbitrary bytes after a valid handshake: the server
// must neither crash nor hang, and must keep serving new connections.
func FuzzServerFrames(f *testing.F) {
	frames := func(ps ...amqp.Performative) []byte {
		var b []byte
		for _, p := range ps {
			b, _ = amqp.AppendFrame(b, amqp.FrameAMQP, 0, p)
		}
		return b
	}
	zero, one := uint32(0), uint32(1)
	begin := &amqp.Begin{IncomingWindow: 100, OutgoingWindow: 100}
	f.Add(frames(begin))
	f.Add(frames(begin, &amqp.Attach{Name: "s", Handle: 0, Role: amqp.RoleSender, Target: &amqp.Target{Address: "$cbs"}, InitialDeliveryCount: &zero},
		&amqp.Transfer{Handle: 0, DeliveryID: &zero, DeliveryTag: []byte{0}, Payload: []byte{0x00, 0x53, 0x77, 0xa1, 0x01, 0x78}}))
	f.Add(frames(begin, &amqp.Attach{Name: "r", Handle: 1, Role: amqp.RoleReceiver, Source: &amqp.Source{Address: "hub/ConsumerGroups/$Default/Partitions/0"}},
		&amqp.Flow{NextIncomingID: &zero, IncomingWindow: 1, Handle: &one, LinkCredit: &one, Drain: true}, &amqp.Detach{Handle: 1, Closed: true}))
	f.Add(frames(begin, &amqp.Attach{Name: "p", Handle: 0, Role: amqp.RoleSender, Target: &amqp.Target{Address: "hub"}},
		&amqp.Transfer{Handle: 0, DeliveryID: &zero, More: true, Payload: []byte{0}}, &amqp.End{}, &amqp.Close{}))
	srv, err := ehtest.NewServer(ehtest.Options{IdleTimeout: 200 * time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	if err := srv.CreateHub("hub", 1); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for round := 0; round < 2; round++ {
			nc, err := net.Dial("tcp", srv.Namespace())
			if err != nil {
				t.Fatalf("the server stopped accepting: %v", err)
			}
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			b := append([]byte(nil), amqp.HeaderAMQP[:]...)
			b, _ = amqp.AppendFrame(b, amqp.FrameAMQP, 0, &amqp.Open{ContainerID: "fuzz", MaxFrameSize: 65536})
			if round == 0 {
				b = append(b, data...)
			}
			b, _ = amqp.AppendFrame(b, amqp.FrameAMQP, 0, &amqp.Close{})
			if _, err := nc.Write(b); err != nil {
				nc.Close()
				continue // the server may close on bad input before reading it all
			}
			// Half-close so a frame cut short ends at once; the server must then
			// answer and close, or a hang hits the deadline.
			nc.(*net.TCPConn).CloseWrite()
			_, err = io.Copy(io.Discard, nc)
			nc.Close()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("round %d: the server neither answered close nor dropped the connection", round)
			}
		}
	})
}
