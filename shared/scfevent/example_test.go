package scfevent_test

import (
	"errors"
	"fmt"

	"github.com/tcusage/tcusage/shared/scfevent"
)

func ExampleDecodeEvent() {
	for _, raw := range []string{
		`{"Type":"Timer","TriggerName":"daily","Time":"2025-03-02T01:30:00Z","Message":""}`,
		`{"httpMethod":"GET","path":"/usage","queryString":{"day":["2025-03-01","2025-03-02"],"save":true},"headers":{"x-scf-remote-addr":"203.0.113.7"}}`,
		`{"Records":[]}`,
	} {
		ev, err := scfevent.DecodeEvent([]byte(raw))
		switch {
		case errors.Is(err, scfevent.ErrUnknownEvent):
			fmt.Println("not for us:", err)
		case err != nil:
			fmt.Println("bad event:", err)
		case ev.Timer != nil:
			fmt.Println("timer", ev.Timer.TriggerName, ev.Timer.Time.Format("2006-01-02 15:04"))
		case ev.HTTP != nil:
			fmt.Println(ev.Kind(), ev.HTTP.Method, ev.HTTP.Path, ev.HTTP.Query["day"], ev.HTTP.Query.Has("save"), ev.HTTP.SourceIP)
		}
	}
	// Output:
	// timer daily 2025-03-02 01:30
	// url GET /usage [2025-03-01 2025-03-02] true 203.0.113.7
	// not for us: unrecognised event: no "Type" or "httpMethod" key (keys: "Records")
}
