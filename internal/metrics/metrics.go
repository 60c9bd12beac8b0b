// Package metrics defines every Prometheus metric streamhunt exports, in one
// place, so that the dashboard, the alert rules and the code agree on names.
// Metrics are counted where the operation happens, with these variables.
package metrics

import (
	"math"
	"regexp"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// Registry holds streamhunt's metrics plus the Go runtime and process collectors.
var Registry = prometheus.NewRegistry()

var (
	// Consumer (Event Hubs or files).

	EventsReceived    = counterVec("events_received_total", "Event Hubs events (bodies) received.", "hub", "partition")
	RecordsReceived   = counterVec("records_received_total", "Sign-in records received, before decoding.", "hub", "partition")
	BytesReceived     = counterVec("bytes_received_total", "Bytes of event bodies received.", "hub", "partition")
	PartitionsOwned   = gaugeVec("partitions_owned", "Partitions this replica owns and reads.", "hub")
	PartitionLag      = gaugeVec("partition_lag_events", "Last enqueued minus last processed sequence number.", "hub", "partition")
	OwnershipLost     = counterVec("ownership_lost_total", "Partitions taken over by another replica while this one read them.", "hub", "partition")
	ProcessorRestarts = counterVec("processor_restarts_total", "Processor or partition worker restarts, by reason.", "hub", "reason")
	StuckPartitions   = gaugeVec("partition_stuck", "1 when an owned partition has lag but received nothing for longer than the stuck threshold.", "hub", "partition")

	// Decoding.

	RecordsDecoded = counterVec("records_decoded_total", "Records decoded, by Log Analytics table.", "table")
	RecordsSkipped = counterVec("records_skipped_total", "Records of categories no table maps (counted by category, never dropped silently).", "category")
	DecodeFailures = counterVec("decode_failures_total", "Bodies or records that could not be decoded, by reason.", "reason")
	BodiesRepaired = counterVec("bodies_repaired_total", "Invalid JSON bodies repaired before decoding, by repair.", "repair")
	TimeFallbacks  = counterVec("time_fallbacks_total", "Records whose time field was unusable, by the fallback used.", "reason")
	FieldsCoerced  = counterVec("fields_coerced_total", "Record fields of an unexpected type or form, by column and outcome (truncated, emptied); the record is still decoded.", "column", "outcome")
	DeadLetters    = counterVec("dead_letters_total", "Dead letters written, by reason.", "reason")

	// Detection.

	Findings   = counterVec("findings_total", "Findings produced, by rule.", "rule")
	RuleErrors = counterVec("rule_errors_total", "Run-time errors evaluating a rule on a record.", "rule")

	// Sinks.

	SinkAttempts   = counterVec("sink_attempts_total", "Delivery attempts, by sink.", "sink")
	SinkFailures   = counterVec("sink_failures_total", "Failed delivery attempts, by sink and reason.", "sink", "reason")
	SinkDelivered  = counterVec("sink_findings_delivered_total", "Findings acknowledged by a sink.", "sink")
	SinkSuppressed = counterVec("sink_findings_suppressed_total", "Notifications held back by alert-storm control or allowlists.", "sink", "rule", "reason")
	SinkLatency    = histogramVec("sink_request_duration_seconds", "Duration of one sink request.", prometheus.ExponentialBuckets(0.005, 2, 14), "sink")

	// Checkpoints.

	CheckpointWrites       = counterVec("checkpoint_writes_total", "Checkpoint writes, by result (ok, skipped-behind, conflict, error).", "hub", "partition", "result")
	CheckpointAge          = gaugeVec("checkpoint_age_seconds", "Seconds since the partition's checkpoint last moved.", "hub", "partition")
	CheckpointBeyondEnd    = counterVec("checkpoint_beyond_end_total", "Checkpoints found beyond the end of their partition (hub recreated?).", "hub", "partition")
	CheckpointStoreLatency = histogramVec("checkpoint_store_duration_seconds", "Duration of checkpoint-store calls.", prometheus.ExponentialBuckets(0.002, 2, 14), "op")

	// Latency and silence.

	EndToEndLatency         = histogramVec("end_to_end_latency_seconds", "Enqueued time to delivery at every sink.", prometheus.ExponentialBuckets(0.01, 2, 16), "hub")
	SignInToDeliveryLatency = histogramVec("signin_to_delivery_latency_seconds", "Sign-in time (createdDateTime) to delivery at every sink.", prometheus.ExponentialBuckets(1, 2, 14), "hub")
	LastRecordTime          = gaugeVec("last_record_timestamp_seconds", "Unix time of the last record received, by hub and category; alert on time() minus this (silence is T1562.008).", "hub", "category")
	// LastRecordAge is computed at each scrape from LastRecordTime.
	LastRecordAge = register(&lastRecordAge{
		desc: prometheus.NewDesc(namespace+"_last_record_age_seconds", "Seconds since the last record received, by hub and category (silence is T1562.008).", []string{"hub", "category"}, nil),
		now:  time.Now,
	})
)

// LastRecord is one (hub, category) of LastRecordTime.
type LastRecord struct {
	Hub, Category string
	Time          time.Time
}

// LastRecords returns every (hub, category) that LastRecordTime has a value for.
func LastRecords() []LastRecord {
	ch := make(chan prometheus.Metric)
	go func() {
		LastRecordTime.Collect(ch)
		close(ch)
	}()
	var out []LastRecord
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil || d.Gauge == nil {
			continue
		}
		r := LastRecord{Time: unixSeconds(d.Gauge.GetValue())}
		for _, l := range d.Label {
			switch l.GetName() {
			case "hub":
				r.Hub = l.GetValue()
			case "category":
				r.Category = l.GetValue()
			}
		}
		out = append(out, r)
	}
	return out
}

func unixSeconds(v float64) time.Time {
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// lastRecordAge turns LastRecordTime into ages at scrape time, so an alert
// needs no time() arithmetic and a dashboard shows it directly.
type lastRecordAge struct {
	desc *prometheus.Desc
	now  func() time.Time
}

func (c *lastRecordAge) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lastRecordAge) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, r := range LastRecords() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, now.Sub(r.Time).Seconds(), r.Hub, r.Category)
	}
}

const namespace = "streamhunt"

func register[C prometheus.Collector](c C) C {
	mustRegister(c)
	return c
}

// all is every collector registered in Registry, for Names.
var all []prometheus.Collector

func mustRegister(cs ...prometheus.Collector) {
	Registry.MustRegister(cs...)
	all = append(all, cs...)
}

// Names returns the name of every metric family Registry can export,
// including label sets never observed yet (which Gather leaves out), so that
// dashboards and alert rules can be checked against it.
func Names() []string {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range all {
			c.Describe(ch)
		}
		close(ch)
	}()
	seen := map[string]bool{}
	var names []string
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m != nil && !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

// fqName finds the metric name in a Desc's String form (the Desc type keeps
// it unexported).
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	mustRegister(c)
	return c
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	mustRegister(g)
	return g
}

func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	mustRegister(h)
	return h
}

func init() {
	mustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}
