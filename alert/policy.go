package alert

import "time"

// Topic groups the kinds that share one repeat limit per task.
type Topic string

// The topics.
const (
	// TopicFailure covers failed, lost and timed-out runs and their recovery.
	TopicFailure Topic = "failure"
	// TopicMissed covers missed runs.
	TopicMissed Topic = "missed"
	// TopicCustom covers the task's own alerts.
	TopicCustom Topic = "custom"
	// TopicDeleted covers deletions, which are never held back.
	TopicDeleted Topic = "deleted"
	// TopicNormal covers runs unlike the task's usual ones (slow, fast,
	// did nothing).
	TopicNormal Topic = "normal"
	// TopicDeadline covers missed deadlines: a promise of its own, not
	// held back by the failure or missed-run alerts that often explain it.
	TopicDeadline Topic = "deadline"
)

// Topic is the repeat limit k counts against.
func (k Kind) Topic() Topic {
	switch k {
	case KindMissed:
		return TopicMissed
	case KindCustom:
		return TopicCustom
	case KindDeleted:
		return TopicDeleted
	case KindSlow, KindFast, KindDidNothing:
		return TopicNormal
	case KindDeadline:
		return TopicDeadline
	}
	return TopicFailure
}

// State is the repeat limit's memory for one task and topic.
type State struct {
	// Failing says the task's last outcome on this topic was bad.
	Failing bool
	// Announced says a message went out since it started failing.
	Announced bool
	// LastSentAt is when the last alert of this topic went out.
	LastSentAt *time.Time
	// Suppressed counts the alerts held back since then.
	Suppressed int
}

// Decision is what the repeat limit says about one event.
type Decision struct {
	// Record is false when there is nothing to say at all (a success of a
	// task that was not failing).
	Record bool
	// Send is false when the alert is held back.
	Send bool
	// Repeat is true when the same trouble was already announced.
	Repeat bool
	// Suppressed is how many alerts this one reports as held back.
	Suppressed int
}

// Decide applies the repeat limit to an event of kind k at now, given the
// topic's state, and returns the new state. At most one alert per topic
// goes out per every; the next one says how many were held back. A
// recovery is sent when the failure it ends was announced; a recovery
// whose failure was held back stays silent, its count carried to the next
// message. Deletions are always sent.
func Decide(st State, k Kind, now time.Time, every time.Duration) (State, Decision) {
	if k == KindDeleted {
		return st, Decision{Record: true, Send: true}
	}
	if k == KindRecovered {
		if !st.Failing {
			return st, Decision{}
		}
		d := Decision{Record: true}
		if st.Announced {
			d.Send, d.Suppressed = true, st.Suppressed
			st.LastSentAt, st.Suppressed = &now, 0
		} else {
			st.Suppressed++
		}
		st.Failing, st.Announced = false, false
		return st, d
	}
	d := Decision{Record: true}
	wasFailing := st.Failing
	st.Failing = true
	if st.LastSentAt != nil && now.Sub(*st.LastSentAt) < every {
		st.Suppressed++
		if !wasFailing {
			st.Announced = false
		}
		return st, d
	}
	d.Send, d.Repeat, d.Suppressed = true, wasFailing && st.Announced, st.Suppressed
	st.Announced, st.LastSentAt, st.Suppressed = true, &now, 0
	return st, d
}
