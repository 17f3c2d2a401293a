package scfevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TimerType is the value of Timer.Type in every timer event.
const TimerType = "Timer"

// Timer is the event of a timer trigger, e.g.
//
//	{"Type":"Timer","TriggerName":"EveryDay","Time":"2019-02-21T11:49:00Z","Message":"daily"}
//
// The JSON keys are capitalised as the platform sends them.
type Timer struct {
	// Type is always "Timer".
	Type string `json:"Type"`
	// TriggerName is the name of the timer trigger that fired.
	TriggerName string `json:"TriggerName"`
	// Time is when the trigger fired, in UTC. It is written as RFC 3339.
	Time time.Time `json:"Time"`
	// Message is the trigger's configured argument; often empty.
	Message string `json:"Message"`
}

// UnmarshalJSON decodes a timer event and converts Time to UTC. It checks
// the field types only; [Timer.Validate] checks the content.
func (t *Timer) UnmarshalJSON(data []byte) error {
	type plain Timer // no methods: avoids recursion
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	p.Time = p.Time.UTC()
	*t = Timer(p)
	return nil
}

// Validate reports whether t is a usable timer event: Type is "Timer" and
// Time is set.
func (t *Timer) Validate() error {
	if t.Type != TimerType {
		return fmt.Errorf("timer event: Type is %q, want %q", t.Type, TimerType)
	}
	if t.Time.IsZero() {
		return errors.New("timer event: Time is missing")
	}
	return nil
}
