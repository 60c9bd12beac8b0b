// Package sink declares where findings go. Each destination is a package of
// its own (sink/webhook, sink/blob, sink/loganalytics, ...) that implements
// Sink; the consumer checkpoints only what every sink has acknowledged.
package sink

import (
	"context"

	"github.com/streamhunt/streamhunt/pipeline"
)

// Range names the contiguous source events a batch of findings came from.
// Blob names are built from it, so a redelivered batch with the same
// boundaries overwrites instead of duplicating.
type Range struct {
	EventHub      string
	Partition     string
	FirstSequence int64
	LastSequence  int64
	// File and line range, for replay.
	File      string
	FirstLine int
	LastLine  int
}

// Batch is the findings produced from one Range of events. It may be empty
// of findings (a range where nothing matched); sinks then do nothing.
type Batch struct {
	Range    Range
	Findings []pipeline.Finding
}

// Sink delivers findings.
//
// Write returns nil only when every finding of the batch has been durably
// delivered, or durably dead-lettered after a permanent rejection. It retries
// transient failures itself until ctx ends; an error means "not delivered,
// deliver again later", and the caller must not checkpoint past the batch.
// Write may be called concurrently from several partitions.
type Sink interface {
	Name() string
	Write(ctx context.Context, b Batch) error
	Close(ctx context.Context) error
}

// DeadLetterWriter durably stores dead letters (a file, a directory or a blob
// container). Write returns nil only once they are stored.
type DeadLetterWriter interface {
	WriteDeadLetters(ctx context.Context, dls []pipeline.DeadLetter) error
	// Where says where dead letters go, for summaries and logs.
	Where() string
	Close(ctx context.Context) error
}
