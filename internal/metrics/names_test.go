package metrics_test

import (
	"slices"
	"testing"

	"github.com/streamhunt/streamhunt/internal/metrics"
)

func TestNamesListsMetricsWhoseLabelsWereNeverObserved(t *testing.T) {
	names := metrics.Names()
	for _, want := range []string{
		"streamhunt_dead_letters_total", "streamhunt_sink_request_duration_seconds", "streamhunt_partition_lag_events",
		"streamhunt_last_record_age_seconds", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() lacks %s: %v", want, names)
		}
	}
	if !slices.IsSorted(names) {
		t.Error("Names() is not sorted")
	}
}
