package planning

import (
	"errors"
	"math"
	"time"
)

// Interval is one planning interval's workload, and what was measured in it when it is past.
type Interval struct {
	Start  time.Time     `json:"start"`
	Length time.Duration `json:"-"`
	// Arrivals in the interval (contacts), measured or forecast.
	Arrivals float64 `json:"arrivals"`
	// Forecast marks an interval whose arrivals are a forecast.
	Forecast    bool          `json:"forecast,omitempty"`
	AHT         time.Duration `json:"-"`
	Concurrency int           `json:"concurrency"`
	Patience    time.Duration `json:"-"`
	// Staffed is the agents measured on duty: available agent-time ÷ the interval (-1: not
	// measured, a future interval).
	Staffed float64 `json:"staffed"`
	// Achieved is the measured share answered within the target's time (nil: nothing to
	// measure, or the target is an ASA).
	Achieved *float64 `json:"achieved,omitempty"`
}

// Status compares the staffed agents with the required ones.
type Status string

// Statuses. An interval is under-staffed with fewer agents (rounded) than required, and
// over-staffed when one agent fewer would still have met the target.
const (
	StatusUnder  Status = "under"
	StatusOver   Status = "over"
	StatusOK     Status = "ok"
	StatusFuture Status = ""
)

// Row is one interval's staffing.
type Row struct {
	Interval
	LengthSeconds   float64 `json:"length_seconds"`
	AHTSeconds      float64 `json:"aht_seconds"`
	PatienceSeconds float64 `json:"patience_seconds,omitempty"`
	Required        int     `json:"required"`
	Scheduled       int     `json:"scheduled"`
	Predicted       Result  `json:"predicted"`
	AtStaffed       *Result `json:"at_staffed,omitempty"`
	// PredictedAtStaffed is the service level Erlang predicts for the staffed agents,
	// interpolated between the whole headcounts around a fractional one.
	PredictedAtStaffed *float64 `json:"predicted_at_staffed,omitempty"`
	Status             Status   `json:"status,omitempty"`
	Error              string   `json:"error,omitempty"`
}

// Plan staffs each interval for target: required on-queue agents (Erlang C, or Erlang A when
// the interval has a patience), scheduled headcount after shrinkage, and for past intervals
// the comparison with the agents measured on duty. An interval whose target cannot be met
// carries the error and the plan goes on; errs joins them.
func Plan(ivs []Interval, t Target, shrinkage float64) (rows []Row, errs error) {
	rows = make([]Row, len(ivs))
	var all []error
	for i, iv := range ivs {
		row := Row{Interval: iv, LengthSeconds: iv.Length.Seconds(), AHTSeconds: iv.AHT.Seconds(), PatienceSeconds: iv.Patience.Seconds()}
		q := iv.queue()
		r, err := Required(q, t)
		if err != nil {
			row.Error = err.Error()
			all = append(all, err)
			rows[i] = row
			continue
		}
		row.Required, row.Predicted, row.Scheduled = r.Agents, r, Scheduled(r.Agents, shrinkage)
		if iv.Staffed >= 0 {
			n := int(math.Floor(iv.Staffed))
			lo := q.At(n, t.Within)
			row.AtStaffed = &lo
			sl := lo.ServiceLevel
			if frac := iv.Staffed - float64(n); frac > 0 {
				sl += frac * (q.At(n+1, t.Within).ServiceLevel - lo.ServiceLevel)
			}
			row.PredictedAtStaffed = &sl
			switch staffed := int(math.Round(iv.Staffed)); {
			case staffed < row.Required:
				row.Status = StatusUnder
			case staffed-1 >= row.Required:
				row.Status = StatusOver
			default:
				row.Status = StatusOK
			}
		}
		rows[i] = row
	}
	return rows, errors.Join(all...)
}

func (iv Interval) queue() Queue {
	rate := 0.0
	if iv.Length > 0 {
		rate = iv.Arrivals / iv.Length.Seconds()
	}
	return Queue{Arrivals: rate, AHT: iv.AHT, Concurrency: iv.Concurrency, Patience: iv.Patience}
}

// Patience estimates the mean patience of customers who may give up (exponential patience):
// the time all of them spent waiting (the served until answered, the rest until they left)
// over the number who left. ok is false when nobody left: patience is then not measured.
func Patience(servedWait, abandonedWait time.Duration, abandoned int64) (time.Duration, bool) {
	if abandoned <= 0 {
		return 0, false
	}
	return (servedWait + abandonedWait) / time.Duration(abandoned), true
}
