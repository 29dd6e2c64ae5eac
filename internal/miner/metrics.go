package miner

import "github.com/prometheus/client_golang/prometheus"

// metrics are the miner's Prometheus metrics (prefix sn27_miner_).
type metrics struct {
	challenges    *prometheus.CounterVec
	solveSeconds  prometheus.Histogram
	hashRate      prometheus.Gauge
	queueLength   prometheus.Gauge
	allocated     prometheus.GaugeFunc
	specsRequests prometheus.Counter
}

// newMetrics registers the metrics on reg; allocated is read at each scrape
// (nil: never allocated), so the gauge follows expiry and reconcile too.
func newMetrics(reg prometheus.Registerer, allocated func() bool) *metrics {
	m := &metrics{
		challenges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sn27_miner_challenges_total",
			Help: "Challenges received, by result: solved, failed, invalid, dropped (deadline passed in the queue).",
		}, []string{"result"}),
		solveSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sn27_miner_solve_duration_seconds",
			Help:    "Time to solve a challenge, from dequeue to answer.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		hashRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sn27_miner_hash_rate_hashes_per_second",
			Help: "Hash rate of the last native solve.",
		}),
		queueLength: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sn27_miner_challenge_queue_length",
			Help: "Challenges waiting for the solver.",
		}),
		allocated: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sn27_miner_allocated",
			Help: "1 while the machine is allocated to a renter.",
		}, func() float64 {
			if allocated != nil && allocated() {
				return 1
			}
			return 0
		}),
		specsRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sn27_miner_specs_requests_total",
			Help: "Specs requests answered.",
		}),
	}
	for _, r := range []string{"solved", "failed", "invalid", "dropped"} {
		m.challenges.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.challenges, m.solveSeconds, m.hashRate, m.queueLength, m.allocated, m.specsRequests)
	}
	return m
}
