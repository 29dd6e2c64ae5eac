package validator

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	roundSeconds prometheus.Histogram
	queried      prometheus.Counter
	challenges   *prometheus.CounterVec
	weightsSet   prometheus.Counter
	// weightsCommitted counts hash commits (their reveals count in weightsSet).
	weightsCommitted prometheus.Counter
	chainErrors      *prometheus.CounterVec
	rentalsEnded     *prometheus.CounterVec
	pogVerdicts      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		roundSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sn27_validator_round_duration_seconds", Help: "Wall time of a challenge round.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 12),
		}),
		queried: prometheus.NewCounter(prometheus.CounterOpts{Name: "sn27_validator_miners_queried_total", Help: "Miners challenged."}),
		challenges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sn27_validator_challenges_total", Help: "Challenge results by outcome: success, wrong, timeout, unreachable, refused, no_answer.",
		}, []string{"result"}),
		weightsSet: prometheus.NewCounter(prometheus.CounterOpts{Name: "sn27_validator_weights_set_total", Help: "Weights that reached the chain: successful set_weights or reveal_weights."}),
		weightsCommitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sn27_validator_weights_committed_total", Help: "Successful weight hash commits (commit_weights).",
		}),
		chainErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sn27_validator_chain_errors_total", Help: "Chain errors by operation."}, []string{"op"}),
		rentalsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sn27_validator_rentals_ended_total", Help: "Rentals the status check ended, by reason: expired, miner_lost.",
		}, []string{"reason"}),
		pogVerdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sn27_validator_pog_verdicts_total", Help: "Proof-of-GPU verdicts: passed, or failed_<step>.",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.roundSeconds, m.queried, m.challenges, m.weightsSet, m.weightsCommitted, m.chainErrors, m.rentalsEnded, m.pogVerdicts)
	}
	return m
}
