package emulator

import (
	"math/rand/v2"
	"sync"
)

// FaultKind is a failure the emulator can inject into a call that passed authentication.
type FaultKind string

// The fault kinds.
const (
	// FaultInternalError answers the API error InternalError (HTTP 200).
	FaultInternalError FaultKind = "InternalError"
	// FaultRequestLimitExceeded answers the API error RequestLimitExceeded (HTTP 200), the code the
	// SDK's rate-limit retry reacts to.
	FaultRequestLimitExceeded FaultKind = "RequestLimitExceeded"
	// FaultFreqOverLimit answers the API error OperationDenied.FreqOverLimit (HTTP 200), TRTC's
	// room-usage limit code.
	FaultFreqOverLimit FaultKind = "OperationDenied.FreqOverLimit"
	// FaultHTML502 answers HTTP 502 with an HTML body, as a gateway would.
	FaultHTML502 FaultKind = "HTML502"
	// FaultReset closes the TCP connection (with RST) without answering.
	FaultReset FaultKind = "Reset"
	// FaultSlow stalls for Config.SlowDelay before answering normally.
	FaultSlow FaultKind = "Slow"
	// FaultTruncatedJSON sends the first half of the normal answer, with a matching Content-Length.
	FaultTruncatedJSON FaultKind = "TruncatedJSON"
	// FaultTruncatedSeries makes DescribeTrtcInteractiveTime answer with the second half of its
	// points dropped while TotalNum still counts them all: a well-formed answer that lost data
	// on the way. Other actions answer normally. It is not drawn by default (FaultConfig.Kinds).
	FaultTruncatedSeries FaultKind = "TruncatedSeries"
)

// AllFaultKinds returns every fault kind.
func AllFaultKinds() []FaultKind {
	return []FaultKind{FaultInternalError, FaultRequestLimitExceeded, FaultFreqOverLimit, FaultHTML502, FaultReset, FaultSlow, FaultTruncatedJSON, FaultTruncatedSeries}
}

// apiCode returns the API error code a fault answers with, or "" for transport-level faults.
func (k FaultKind) apiCode() string {
	switch k {
	case FaultInternalError:
		return CodeInternalError
	case FaultRequestLimitExceeded:
		return CodeRequestLimitExceeded
	case FaultFreqOverLimit:
		return CodeFreqOverLimit
	}
	return ""
}

// FaultConfig injects random faults: each authenticated call fails with probability Rate, with a
// kind drawn uniformly from Kinds. The zero FaultConfig injects nothing.
type FaultConfig struct {
	// Rate is the probability of a fault per call, 0..1.
	Rate float64
	// Kinds are the kinds to draw from. Zero: every kind except FaultSlow and
	// FaultTruncatedSeries (which a client rightly refuses rather than retries).
	Kinds []FaultKind
	// Seed seeds the random source, so a run is repeatable for a given call order.
	Seed int64
}

// faults holds the random and the queued faults.
type faults struct {
	mu     sync.Mutex
	cfg    FaultConfig
	rnd    *rand.Rand
	queued map[string][]FaultKind // action ("" = any) -> kinds to answer, in order
}

func newFaults(cfg FaultConfig) *faults {
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = []FaultKind{FaultInternalError, FaultRequestLimitExceeded, FaultFreqOverLimit, FaultHTML502, FaultReset, FaultTruncatedJSON}
	}
	return &faults{cfg: cfg, rnd: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7463757361676521)), queued: map[string][]FaultKind{}}
}

// failNext queues n faults of kind for action.
func (f *faults) failNext(action string, n int, kind FaultKind) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queued[action] = append(f.queued[action], kind)
	}
}

// next returns the fault for a call of action, or "" for none: first the action's queue, then the
// queue for any action, then the random draw.
func (f *faults) next(action string) FaultKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, key := range []string{action, ""} {
		if q := f.queued[key]; len(q) > 0 {
			f.queued[key] = q[1:]
			return q[0]
		}
	}
	if f.cfg.Rate > 0 && f.rnd.Float64() < f.cfg.Rate {
		return f.cfg.Kinds[f.rnd.IntN(len(f.cfg.Kinds))]
	}
	return ""
}

// pending returns the number of faults queued for action.
func (f *faults) pending(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queued[action])
}
