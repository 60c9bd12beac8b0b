package deadletter

import (
	"errors"
	"fmt"

	"github.com/streamhunt/streamhunt/sink"
)

// DefaultFile is replay's dead letter file, in the working directory,
// created only when needed (DESIGN.md).
const DefaultFile = "streamhunt-deadletter.jsonl"

// Config chooses where dead letters go: exactly one of File, Dir or Blob.
// An empty Config means DefaultFile.
type Config struct {
	// File appends every dead letter to one file.
	File string `yaml:"file"`
	// Dir writes one file per hour and process into a directory.
	Dir string `yaml:"dir"`
	// Blob writes one blob per write into a container.
	Blob *BlobConfig `yaml:"blob"`
}

// Validate reports every configuration error at once.
func (c Config) Validate() error {
	n := 0
	for _, set := range []bool{c.File != "", c.Dir != "", c.Blob != nil} {
		if set {
			n++
		}
	}
	var errs []error
	if n > 1 {
		errs = append(errs, errors.New("file, dir, blob: choose one place for dead letters"))
	}
	if c.Blob != nil {
		if err := c.Blob.Validate(); err != nil {
			errs = append(errs, prefix("blob.", err))
		}
	}
	return errors.Join(errs...)
}

// Build returns the writer the config names.
func Build(c Config) (sink.DeadLetterWriter, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch {
	case c.Dir != "":
		return NewDir(c.Dir), nil
	case c.Blob != nil:
		return NewBlob(*c.Blob)
	case c.File != "":
		return NewFile(c.File), nil
	}
	return NewFile(DefaultFile), nil
}

// prefix puts a key prefix before every error joined in err.
func prefix(p string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			errs = append(errs, fmt.Errorf("%s%w", p, e))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s%w", p, err)
}
