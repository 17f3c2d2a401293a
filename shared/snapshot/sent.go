package snapshot

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// SentWindow is the time window API requests named, exactly as sent: Fields holds the requests'
// time fields as they went on the wire (StartTime and EndTime, or StartTimeStamp and
// EndTimeStamp), Readings the readings of the documents the window rests on (tcapi's reading
// constants, by name). Apps lists the apps fetched with this window when the action's apps of
// the day were fetched with more than one (a reading changed while the day was being filled);
// empty, the window is every app's that the action produced.
type SentWindow struct {
	Fields   map[string]json.RawMessage `json:"fields"`
	Readings map[string]bool            `json:"readings,omitempty"`
	Apps     []string                   `json:"apps,omitempty"`
}

// same reports whether w and o are the same window under the same readings (apps aside).
func (w SentWindow) same(o SentWindow) bool {
	return maps.EqualFunc(w.Fields, o.Fields, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) &&
		maps.Equal(w.Readings, o.Readings)
}

// appWindow is the action and window one app's data was fetched with.
type appWindow struct {
	action string
	window SentWindow
}

// requestWindows are the windows of the apps this delivery covers, from the request.
func requestWindows(in *commitInput) map[string]appWindow {
	out := map[string]appWindow{}
	for a := range in.scope {
		w, ok := in.req.AppWindows[a]
		if !ok {
			continue
		}
		action := in.req.AppActions[a]
		if action == "" {
			action = in.req.Origin.Action
		}
		w.Apps = nil
		out[a] = appWindow{action: action, window: w}
	}
	return out
}

// windowOf finds, in a previous manifest, the window app was fetched with.
func windowOf(prev *Manifest, app string) (appWindow, bool) {
	action := prev.AppActions[app]
	if action == "" {
		action = prev.Origin.Action
	}
	ws := prev.WindowsSent[action]
	for _, w := range ws {
		if len(ws) == 1 && len(w.Apps) == 0 || slices.Contains(w.Apps, app) {
			w.Apps = nil
			return appWindow{action: action, window: w}, true
		}
	}
	return appWindow{}, false
}

// windowsSent groups per-app windows by action: one entry per distinct window, listing its apps
// only when an action has several.
func windowsSent(byApp map[string]appWindow) map[string][]SentWindow {
	if len(byApp) == 0 {
		return nil
	}
	out := map[string][]SentWindow{}
	for _, app := range slices.Sorted(maps.Keys(byApp)) {
		aw := byApp[app]
		ws := out[aw.action]
		i := slices.IndexFunc(ws, func(w SentWindow) bool { return w.same(aw.window) })
		if i < 0 {
			w := aw.window
			w.Apps = nil
			ws = append(ws, w)
			i = len(ws) - 1
		}
		ws[i].Apps = append(ws[i].Apps, app)
		out[aw.action] = ws
	}
	for action, ws := range out {
		if len(ws) == 1 {
			ws[0].Apps = nil
		}
		slices.SortFunc(ws, func(a, b SentWindow) int { return strings.Compare(firstApp(a), firstApp(b)) })
		out[action] = ws
	}
	return out
}

func firstApp(w SentWindow) string {
	if len(w.Apps) == 0 {
		return ""
	}
	return w.Apps[0]
}
