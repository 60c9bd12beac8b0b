package eventhubs_test

import (
	"testing"

	"github.com/streamhunt/streamhunt/consumer/eventhubs"
	"github.com/streamhunt/streamhunt/internal/config"
)

func TestPrefetchFor(t *testing.T) {
	tests := []struct {
		name       string
		partitions int
		maxEvent   int64
	}{
		{"32 partitions of 1 MiB bodies fit the default 256 MiB budget", 32, 1 << 20},
		{"a replica alone on 4 partitions of 1 MiB bodies fits it", 4, 1 << 20},
		{"1024 partitions still get at least one event each", 1024, 1 << 20},
		{"small bodies prefetch many events", 32, 4 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefetch, batch := eventhubs.PrefetchFor(config.DefaultMemoryBudget, tt.maxEvent, tt.partitions)
			if prefetch < 1 || batch < 1 || batch > prefetch {
				t.Fatalf("prefetch %d, batch %d", prefetch, batch)
			}
			held := int64(tt.partitions) * int64(prefetch+batch) * tt.maxEvent
			if tt.partitions <= 256 && held > config.DefaultMemoryBudget {
				t.Fatalf("%d partitions × (prefetch %d + batch %d) × %d bytes = %d, over the %d budget",
					tt.partitions, prefetch, batch, tt.maxEvent, held, config.DefaultMemoryBudget)
			}
		})
	}
	small, _ := eventhubs.PrefetchFor(config.DefaultMemoryBudget, 4<<10, 32)
	large, _ := eventhubs.PrefetchFor(config.DefaultMemoryBudget, 1<<20, 32)
	if small <= large {
		t.Errorf("4 KiB bodies prefetch %d, 1 MiB bodies %d: smaller bodies should prefetch more", small, large)
	}
}
