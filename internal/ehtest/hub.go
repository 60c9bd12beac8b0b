package ehtest

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamhunt/streamhunt/internal/amqp"
)

// hub is one event hub: its partitions and consumer groups.
type hub struct {
	name    string
	created time.Time

	mu         sync.Mutex
	groups     map[string]string // lower-case name -> name
	partitions []*partition
	rr         atomic.Uint64 // round-robin cursor for sends without partition or key
}

func (h *hub) partition(id string) *partition {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, err := strconv.Atoi(id)
	if err != nil || n < 0 || n >= len(h.partitions) || strconv.Itoa(n) != id {
		return nil
	}
	return h.partitions[n]
}

func (h *hub) partitionList() []*partition {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.partitions)
}

func (h *hub) hasGroup(cg string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.groups[strings.ToLower(cg)]
	return ok
}

// route chooses the partition of a send to the hub itself: by partition key
// hash when there is one, else round robin.
func (h *hub) route(key *string) *partition {
	parts := h.partitionList()
	if key != nil {
		f := fnv.New32a()
		f.Write([]byte(*key))
		return parts[int(f.Sum32()%uint32(len(parts)))]
	}
	return parts[int(h.rr.Add(1)-1)%len(parts)]
}

// event is one retained event. Its encoding on the wire is head followed by
// one data section holding body when body is set (events published through
// the Go API, whose bodies are shared, not copied).
type event struct {
	seq      int64
	offset   int64
	enqueued time.Time
	head     []byte
	body     []byte
	hasBody  bool
}

// dataHeader returns the encoding that sits between head and body.
func (e *event) dataHeader(buf []byte) []byte {
	if !e.hasBody {
		return buf[:0]
	}
	buf = append(buf[:0], 0x00, 0x53, 0x75)
	if len(e.body) < 256 {
		return append(buf, 0xa0, byte(len(e.body)))
	}
	n := len(e.body)
	return append(buf, 0xb0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// partition holds one partition's retained events and its receivers.
type partition struct {
	hub    string
	id     string
	retain int
	now    func() time.Time

	mu         sync.Mutex
	events     []*event
	nextSeq    int64
	nextOffset int64
	lastTime   time.Time
	stalled    bool
	notify     chan struct{} // closed and replaced when events arrive or a stall ends
	receivers  map[string][]*link
}

func newPartition(hub, id string, retain int, now func() time.Time) *partition {
	return &partition{hub: hub, id: id, retain: retain, now: now, notify: make(chan struct{}), receivers: map[string][]*link{}}
}

// append stores events whose annotations build gives, assigning sequence
// numbers, offsets and the enqueued time.
func (p *partition) append(n int, build func(i int, seq, offset int64, t time.Time) (*event, int, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now().UTC()
	if !now.After(p.lastTime) {
		now = p.lastTime
	}
	now = amqp.Timestamp(now)
	for i := 0; i < n; i++ {
		ev, size, err := build(i, p.nextSeq, p.nextOffset, now)
		if err != nil {
			return err
		}
		ev.seq, ev.offset, ev.enqueued = p.nextSeq, p.nextOffset, now
		p.events = append(p.events, ev)
		p.nextSeq++
		p.nextOffset += int64(size)
	}
	p.lastTime = now
	if over := len(p.events) - p.retain; p.retain > 0 && over > 0 {
		clear(p.events[:over])
		p.events = p.events[over:]
	}
	close(p.notify)
	p.notify = make(chan struct{})
	return nil
}

// read returns up to max events from sequence number seq on (the first
// retained one when seq is older), or none and a channel closed when that may
// change. A stalled partition returns none.
func (p *partition) read(seq int64, max int, dst []*event) ([]*event, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	dst = dst[:0]
	if p.stalled || len(p.events) == 0 {
		return dst, p.notify
	}
	first := p.events[0].seq
	i := int(max64(seq-first, 0))
	if i >= len(p.events) {
		return dst, p.notify
	}
	end := min(len(p.events), i+max)
	return append(dst, p.events[i:end]...), nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// setStalled stops or resumes deliveries from the partition.
func (p *partition) setStalled(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = v
	if !v {
		close(p.notify)
		p.notify = make(chan struct{})
	}
}

// state returns the partition's properties as $management reports them.
func (p *partition) state() PartitionState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := PartitionState{Hub: p.hub, Partition: p.id, LastSequenceNumber: -1, LastOffset: "-1", Empty: true,
		BeginSequenceNumber: p.nextSeq}
	if n := len(p.events); n > 0 {
		last := p.events[n-1]
		st.BeginSequenceNumber = p.events[0].seq
		st.LastSequenceNumber = last.seq
		st.LastOffset = strconv.FormatInt(last.offset, 10)
		st.LastEnqueuedTime = last.enqueued
		st.Empty = false
		st.Retained = n
	}
	for cg, ls := range p.receivers {
		for _, l := range ls {
			st.Receivers = append(st.Receivers, Receiver{ConsumerGroup: cg, LinkName: l.name, Epoch: l.epoch, Delivered: l.sent.Load()})
		}
	}
	slices.SortFunc(st.Receivers, func(a, b Receiver) int {
		return strings.Compare(a.ConsumerGroup+a.LinkName, b.ConsumerGroup+b.LinkName)
	})
	return st
}

// maxNonEpochReceivers is the service's limit of receivers without an owner
// level per partition and consumer group.
const maxNonEpochReceivers = 5

// register adds a receiver under the service's epoch rules. It returns the
// receivers the new one steals the partition from, or the error refusing it.
func (p *partition) register(l *link, cg string) ([]*link, *amqp.Error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := strings.ToLower(cg)
	cur := p.receivers[key]
	var stolen []*link
	if l.epoch != nil {
		for _, o := range cur {
			if o.epoch != nil && *o.epoch > *l.epoch {
				return nil, &amqp.Error{Condition: condLinkStolen, Description: fmt.Sprintf(
					"Receiver '%s' with epoch '%d' cannot be created: a receiver with a higher epoch of '%d' already exists for partition %s of consumer group '%s'.",
					l.name, *l.epoch, *o.epoch, p.id, cg)}
			}
		}
		stolen = cur
		cur = nil
	} else {
		for _, o := range cur {
			if o.epoch != nil {
				return nil, &amqp.Error{Condition: condLinkStolen, Description: fmt.Sprintf(
					"At least one receiver for the endpoint is created with epoch of '%d', and so non-epoch receiver '%s' is not allowed for partition %s of consumer group '%s'.",
					*o.epoch, l.name, p.id, cg)}
			}
		}
		if len(cur) >= maxNonEpochReceivers {
			return nil, &amqp.Error{Condition: condResourceLimit, Description: fmt.Sprintf(
				"Exceeded the maximum number of allowed receivers per partition in a consumer group which is %d (partition %s, consumer group '%s').",
				maxNonEpochReceivers, p.id, cg)}
		}
	}
	p.receivers[key] = append(cur, l)
	return stolen, nil
}

// unregister removes a receiver; it is a no-op when it is gone already.
func (p *partition) unregister(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for cg, ls := range p.receivers {
		if i := slices.Index(ls, l); i >= 0 {
			p.receivers[cg] = slices.Delete(slices.Clone(ls), i, i+1)
			if len(p.receivers[cg]) == 0 {
				delete(p.receivers, cg)
			}
		}
	}
}

// receiverLinks returns the partition's receivers.
func (p *partition) receiverLinks() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*link
	for _, ls := range p.receivers {
		out = append(out, ls...)
	}
	return out
}

// startPosition is where a receiver starts, from its selector filter.
type startPosition struct {
	kind      string // "offset", "sequence-number" or "enqueued-time"
	value     string
	inclusive bool
}

var selectorRE = regexp.MustCompile(`^\s*amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$`)

// parseSelector parses an Event Hubs selector filter expression.
func parseSelector(expr string) (startPosition, error) {
	m := selectorRE.FindStringSubmatch(expr)
	if m == nil {
		return startPosition{}, fmt.Errorf("unsupported selector filter %q: want amqp.annotation.x-opt-(offset|sequence-number|enqueued-time) >[=] '<value>'", expr)
	}
	sp := startPosition{kind: m[1], inclusive: m[2] == ">=", value: m[3]}
	switch sp.kind {
	case "offset":
		if sp.value != "-1" && sp.value != "@latest" {
			if _, err := strconv.ParseInt(sp.value, 10, 64); err != nil {
				return sp, fmt.Errorf("selector filter offset %q is not -1, @latest or an integer", sp.value)
			}
		}
	default:
		if _, err := strconv.ParseInt(sp.value, 10, 64); err != nil {
			return sp, fmt.Errorf("selector filter %s value %q is not an integer", sp.kind, sp.value)
		}
	}
	return sp, nil
}

// resolve returns the sequence number of the first event to deliver.
func (p *partition) resolve(sp startPosition) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp.kind == "offset" && sp.value == "-1" {
		return 0 // everything retained
	}
	if sp.kind == "offset" && sp.value == "@latest" {
		return p.nextSeq
	}
	v, _ := strconv.ParseInt(sp.value, 10, 64)
	match := func(e *event) bool {
		var x int64
		switch sp.kind {
		case "offset":
			x = e.offset
		case "sequence-number":
			x = e.seq
		default:
			x = e.enqueued.UnixMilli()
		}
		if sp.inclusive {
			return x >= v
		}
		return x > v
	}
	i, _ := slices.BinarySearchFunc(p.events, true, func(e *event, _ bool) int {
		if match(e) {
			return 1
		}
		return -1
	})
	if i < len(p.events) {
		return p.events[i].seq
	}
	return p.nextSeq
}
