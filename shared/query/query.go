// Package query answers a function's HTTP queries (API gateway and Function URL events) and the
// same queries from the command line (tcusage query). It checks the bearer token, parses and
// bounds the query, and answers each day from its snapshot when the day's manifest lists every app
// asked for (the stored files, checked against the manifest's SHA-256 as they are read, without
// an API call), and from the API otherwise (live, holding the dataset's lease so that a query's
// calls and the timers' share the account's rate limit). Rows come as stored, or summed per day,
// app or room (top N by a measure). Answers made only of complete snapshots carry an ETag and
// answer 304 to a matching If-None-Match. Every outcome is an HTTP answer: 4xx for the caller's
// mistakes, 409 while another writer holds the lease a live day needs, 502/503/504 for upstream
// failures, never a partial answer.
package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// MaxResponseBytes keeps HTTP answers under SCF's 6 MB synchronous response limit, leaving room
// for the envelope.
const MaxResponseBytes = 5 << 20

// DefaultReaders is how many stored files a query reads at once by default: enough to hide a
// store's latency (tens of milliseconds a GET on COS) behind one another.
const DefaultReaders = 64

// httpAnswer is an HTTP answer.
type httpAnswer = scfevent.HTTPResponse

// Handler serves one function's HTTP queries.
type Handler struct {
	Runner *export.Runner
	// TokenSHA256 is the SHA-256 of the bearer token; empty refuses every query.
	TokenSHA256 []byte
	// Logger receives one line per answer and every refusal (default: the runner's).
	Logger *slog.Logger
	// Holder names a query in the dataset's lease; what says what holds it ("HTTP save", "HTTP
	// query") (default: the runner's default).
	Holder func(ctx context.Context, what string) string
	// LateAfter is how long after its end a day may stay incomplete before the status answer
	// calls it late.
	LateAfter time.Duration
	// RestateDays is how many days before the newest day of the timers' cycle they fetch again:
	// older days are settled, and an answer made only of settled days may be cached for
	// SettledMaxAge (see Answer).
	RestateDays int
	// Readers is how many stored files are read at once (default DefaultReaders).
	Readers int

	authFailures atomic.Int64
	mergeFanIn   int // days of an app merged at once (tests; default maxFanIn)
}

// SettledMaxAge is how long an answer made only of settled days (complete snapshots older than
// the restatement window) may be used without asking again.
const SettledMaxAge = time.Hour

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	if h.Runner.Logger != nil {
		return h.Runner.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) readers() int {
	if h.Readers > 0 {
		return h.Readers
	}
	return DefaultReaders
}

func (h *Handler) holder(ctx context.Context, what string) string {
	if h.Holder == nil {
		return ""
	}
	return h.Holder(ctx, what)
}

// Serve answers one HTTP request. Every outcome is an HTTP answer; nothing is an error.
func (h *Handler) Serve(ctx context.Context, req *scfevent.HTTPRequest) scfevent.HTTPResponse {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET and HEAD are supported", "")
		resp.Headers["Allow"] = "GET, HEAD"
		return resp
	}
	if denied := checkAuth(h.TokenSHA256, req.Header); denied != nil {
		if denied.StatusCode == http.StatusUnauthorized {
			n := h.authFailures.Add(1)
			h.logger().WarnContext(ctx, "HTTP query refused: bad or missing bearer token", "source_ip", req.SourceIP, "trigger", req.Trigger, "failed_auth_total", n)
		}
		return headless(req, *denied)
	}
	if isStatus(req.Path) {
		return headless(req, h.status(ctx, req))
	}
	q, err := h.Parse(req.Query)
	if err == nil && q.Save && req.Method == http.MethodHead {
		err = &plan.InputError{Field: "save", Problem: "HEAD never changes anything: send GET to save"}
	}
	if err != nil {
		return headless(req, invalidParameter(err))
	}
	return headless(req, h.Answer(ctx, q, req.Header.Get("If-None-Match")))
}

// Parse parses a query for this handler's dataset, apps and limits (ParseQuery).
func (h *Handler) Parse(params map[string][]string) (Query, error) {
	return ParseQuery(params, h.Runner.Source.Schema(), h.Runner.Apps, h.Runner.Limits())
}

// Answer answers a parsed query: what Serve answers once a request passed authentication, and
// what tcusage query prints. ifNoneMatch is the request's If-None-Match ("" for none).
//
// Each day comes from its snapshot when its manifest lists every app asked for as delivered and a
// JSON Lines or CSV file of each: the files are streamed and hashed, and a file that does not
// match its manifest is logged and its day fetched live instead. Other days (and every day with
// fresh=true or save=true) are fetched live, holding the dataset's lease: when another writer
// holds it, the answer is 409 DatasetBusy with Retry-After, at once (a holder keeps the lease for
// its whole run, longer than a caller waits). An answer made only of complete snapshots has an
// ETag (the manifests' hashes of the files read, and the query) and may be stored by caches, to be
// revalidated (304 when unchanged) at once while its days may still be restated, after
// SettledMaxAge once every day is settled; any live or partial day makes it no-store.
func (h *Handler) Answer(ctx context.Context, q Query, ifNoneMatch string) scfevent.HTTPResponse {
	var saved *savedDays
	if q.Save {
		var stop *httpAnswer
		if saved, stop = h.save(ctx, q); stop != nil {
			return *stop
		}
		q.Save, q.Fresh = false, false // answered from what was just committed
	}
	prefer := []usage.Format{q.Format, otherText(q.Format)}
	if q.Group != GroupNone {
		// The cheapest to parse first; Parquet when it is all a deployment writes.
		prefer = []usage.Format{usage.CSV, usage.JSONL, usage.Parquet}
	}
	days, err := h.planDays(ctx, q, prefer)
	if err != nil {
		return *h.failure(ctx, q, err)
	}
	cc := h.cacheControl(days)
	tag := ""
	if saved == nil && cc != noStore {
		tag = h.etag(q, days)
	}
	if tag != "" && matchesETag(ifNoneMatch, tag) {
		h.logger().InfoContext(ctx, "HTTP query answered: not modified", "from", q.From, "to", q.To, "apps", len(q.Apps), "etag", tag)
		return notModified(tag, cc)
	}
	if stop := h.checkSize(q, days); stop != nil {
		return *stop
	}
	if stop := h.checkLive(ctx, q, days); stop != nil {
		return *stop
	}
	a, stop := h.build(ctx, q, days)
	defer func() {
		for _, d := range days {
			d.answers.Remove()
		}
	}()
	if stop != nil {
		return *stop
	}
	if saved != nil {
		a.Saved, a.RequestIDs = saved.keys, saved.requestIDs
	}
	resp := a.response(q)
	if resp.StatusCode != http.StatusOK {
		return resp
	}
	setSourceHeaders(resp.Headers, days)
	cc = h.cacheControl(days) // a tampered day was fetched live meanwhile
	resp.Headers["Cache-Control"] = cc
	if cc != noStore && tag != "" {
		resp.Headers["ETag"], resp.Headers["Vary"] = tag, "Authorization"
	}
	live := len(liveDays(days))
	h.logger().InfoContext(ctx, "HTTP query answered", "from", q.From, "to", q.To, "apps", len(q.Apps), "format", q.Format, "group", q.Group,
		"snapshot_days", len(days)-live, "live_days", live, "save", saved != nil, "bytes", len(resp.Body))
	return resp
}

// otherText is the other text format.
func otherText(f usage.Format) usage.Format {
	if f == usage.CSV {
		return usage.JSONL
	}
	return usage.CSV
}

// build fetches the live days and reads every day into the answer. A stored file found not to
// match its manifest is logged, its day is fetched live, and the answer is read again.
func (h *Handler) build(ctx context.Context, q Query, days []*dayPlan) (*answer, *httpAnswer) {
	for {
		if stop := h.fetchLive(ctx, q, days); stop != nil {
			return nil, stop
		}
		a, tl, stop := h.read(ctx, q, days)
		if stop != nil {
			return nil, stop
		}
		if len(tl.days) == 0 {
			return a, nil
		}
		for d, err := range tl.days {
			h.logger().WarnContext(ctx, "a stored file does not match its manifest; the day is fetched live instead", "date", d.date, "error", err)
			d.live, d.reason, d.files = true, reasonTampered, nil
		}
		if stop := h.checkLive(ctx, q, days); stop != nil {
			return nil, stop
		}
	}
}

// fetchLive fetches the live days not fetched yet, holding the dataset's lease: in the query's
// format for rows as stored, as CSV (the cheapest to parse) for sums.
func (h *Handler) fetchLive(ctx context.Context, q Query, days []*dayPlan) *httpAnswer {
	var todo []*dayPlan
	var dates []calendar.Day
	for _, d := range days {
		if d.live && d.answers == nil {
			todo, dates = append(todo, d), append(dates, d.date)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	opt := export.FetchOptions{Format: q.Format, Limit: MaxResponseBytes, Holder: h.holder(ctx, "HTTP query")}
	if q.Group != GroupNone {
		opt.Format, opt.Limit = usage.CSV, 0
	}
	answers, err := h.Runner.Fetch(ctx, dates, q.Apps, opt)
	var held *snapshot.HeldError
	switch {
	case errors.As(err, &held):
		h.logger().InfoContext(ctx, "HTTP query refused: another writer holds the dataset's lease", "holder", held.Holder, "lease_expires_at", held.ExpiresAt, "live_days", len(todo))
		return busy(held, fmt.Sprintf("%s %s no complete snapshot, and a query calls the API only while it holds the dataset's lease (the rate limit is the account's): try again later%s",
			dayRange(todo), hasHave(len(todo)), freshHint(q)))
	case err != nil:
		return h.failure(ctx, q, err)
	}
	for i, d := range todo {
		d.answers = answers[i*len(q.Apps) : (i+1)*len(q.Apps)]
	}
	return nil
}

func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

func freshHint(q Query) string {
	if q.Fresh {
		return ", or ask without fresh=true"
	}
	return ""
}

// busy answers 409 DatasetBusy while another writer holds the lease.
func busy(held *snapshot.HeldError, why string) *httpAnswer {
	resp := errorResponse(http.StatusConflict, "DatasetBusy", fmt.Sprintf("another writer (%s) holds the dataset until %s; %s",
		held.Holder, held.ExpiresAt.UTC().Format(time.RFC3339), why), "")
	resp.Headers["Retry-After"] = strconv.Itoa(max(1, int(time.Until(held.ExpiresAt).Seconds())+1))
	return &resp
}

// read reads every day of the query into an answer; tl lists the days whose stored files did
// not match their manifests (the answer is then not to be used).
func (h *Handler) read(ctx context.Context, q Query, days []*dayPlan) (*answer, *tamperLog, *httpAnswer) {
	parts := h.parts(days)
	tl := &tamperLog{}
	a := h.newAnswer(q, days)
	schema := h.Runner.Source.Schema()
	switch q.Group {
	case GroupNone:
		bodies, err := h.readRows(ctx, q, parts, tl)
		if err != nil {
			return nil, nil, h.failure(ctx, q, err)
		}
		if len(tl.days) > 0 {
			return nil, tl, nil
		}
		for _, b := range bodies {
			if stop := a.add(b); stop != nil {
				return nil, nil, stop
			}
		}
	default:
		ms := newMeasureSet(schema, q.By)
		var groups []*groupRow
		var err error
		if q.Group == GroupRoom {
			groups, err = h.readRooms(ctx, q, parts, ms, tl)
		} else {
			groups, err = h.readGroups(ctx, q, parts, ms, tl)
		}
		if err != nil && len(tl.days) == 0 {
			return nil, nil, h.failure(ctx, q, err)
		}
		if len(tl.days) > 0 {
			return nil, tl, nil
		}
		a.setGroups(q, ms, groups)
	}
	return a, tl, nil
}

// failure turns an error into an answer: 413 for an answer too large, the upstream mapping
// (upstreamResponse) for the rest, logged.
func (h *Handler) failure(ctx context.Context, q Query, err error) *httpAnswer {
	if errors.Is(err, errTooLarge) || errors.Is(err, export.ErrAnswerTooLarge) {
		return tooLarge(q)
	}
	h.logger().ErrorContext(ctx, "HTTP query failed", "error", err)
	resp := upstreamResponse(ctx, err)
	return &resp
}

// checkSize refuses at once an ungrouped answer whose stored files alone are larger than an
// answer may be (their sizes are in the manifests).
func (h *Handler) checkSize(q Query, days []*dayPlan) *httpAnswer {
	if q.Group != GroupNone {
		return nil
	}
	var n int64
	for _, d := range days {
		for _, f := range d.files {
			n += f.bytes
		}
	}
	if n > MaxResponseBytes {
		return tooLarge(q)
	}
	return nil
}

// isStatus reports whether the request asks for the dataset's status (a path ending in /status).
func isStatus(path string) bool { return path == "/status" || strings.HasSuffix(path, "/status") }

// status answers where the dataset stands (export.Status): 200 when no day is late, 503 with the
// same body when one is, so that a monitor can alarm on the code alone.
func (h *Handler) status(ctx context.Context, req *scfevent.HTTPRequest) scfevent.HTTPResponse {
	if len(req.Query) > 0 {
		for k := range req.Query {
			return invalidParameter(&plan.InputError{Field: plan.FieldName(k), Problem: "the status takes no parameters"})
		}
	}
	st, err := h.Runner.Status(ctx, 0, h.LateAfter)
	if err != nil {
		h.logger().ErrorContext(ctx, "status unreadable", "error", err)
		return errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "the snapshot store failed; try again later", "")
	}
	code := http.StatusOK
	if len(st.Late) > 0 {
		code = http.StatusServiceUnavailable
	}
	return jsonResponse(code, st)
}

// headless drops the body of an answer to HEAD, whatever its status: HEAD answers carry headers
// only.
func headless(req *scfevent.HTTPRequest, resp scfevent.HTTPResponse) scfevent.HTTPResponse {
	if req.Method == http.MethodHead {
		resp.Body = ""
	}
	return resp
}

// checkTime refuses a query whose live app-days cannot be fetched before the function's timeout
// at the API's pacing.
func (h *Handler) checkTime(ctx context.Context, units int) *httpAnswer {
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	need, left := h.Runner.Estimate(units), time.Until(dl)
	if need <= left {
		return nil
	}
	resp := errorResponse(http.StatusBadRequest, "RangeTooLarge", fmt.Sprintf(
		"%d app-day(s) to fetch from the API take about %s at its rate limit, more than the %s left before the function's timeout; ask for fewer days or apps, or use tcusage backfill",
		units, durationText(need), durationText(left)), "")
	return &resp
}

// savedDays is what save=true committed: the manifests' keys and the request IDs of the apps
// asked for.
type savedDays struct {
	keys, requestIDs []string
}

// save runs and commits the query's days (under the dataset's lease, as a timer run); the answer
// is then read from what the manifests now list.
func (h *Handler) save(ctx context.Context, q Query) (*savedDays, *httpAnswer) {
	r := h.Runner
	log := h.logger()
	if !slices.Contains(r.Formats, usage.JSONL) && !slices.Contains(r.Formats, usage.CSV) {
		return nil, invalid(&plan.InputError{Field: "save", Problem: fmt.Sprintf("save=true answers from the stored JSON Lines or CSV files, and this function writes only %s (TCUSAGE_FORMAT)", formatNames(r.Formats))})
	}
	if stop := h.checkTime(ctx, (q.To.Sub(q.From)+1)*len(q.Apps)); stop != nil {
		return nil, stop
	}
	sum, err := r.Run(ctx, plan.Window{Days: calendar.Days(q.From, q.To), Apps: q.Apps}, export.Options{Force: true, Holder: h.holder(ctx, "HTTP save")})
	if sum != nil && sum.Busy != nil {
		log.InfoContext(ctx, "HTTP save refused: another writer holds the dataset's lease", "holder", sum.Busy.Holder, "lease_expires_at", sum.Busy.ExpiresAt)
		return nil, busy(sum.Busy, "try again later, or ask without save=true")
	}
	if err != nil {
		log.ErrorContext(ctx, "HTTP save failed", "error", err)
		resp := upstreamResponse(ctx, err)
		return nil, &resp
	}
	out := &savedDays{requestIDs: []string{}}
	for _, ps := range sum.Partitions {
		out.keys = append(out.keys, ps.ManifestKey)
		m, err := snapshot.ReadManifest(ctx, r.Store, r.Prefix, r.Dataset(), ps.Date)
		if err != nil {
			log.ErrorContext(ctx, "HTTP save: cannot read back the manifest", "date", ps.Date, "error", err)
			return nil, storeUnavailable()
		}
		for _, app := range q.Apps {
			out.requestIDs = append(out.requestIDs, m.AppRequestIDs[app]...)
		}
	}
	return out, nil
}

func tooLarge(q Query) *httpAnswer {
	hint := "ask for fewer days or apps, or sums with group=day or group=app"
	switch {
	case q.Group == GroupRoom && q.Top == 0:
		hint = "keep the largest rooms with top=N, or ask for fewer days or apps"
	case q.Group != GroupNone:
		hint = "keep the largest groups with top=N, or ask for fewer days or apps"
	}
	resp := errorResponse(http.StatusRequestEntityTooLarge, "AnswerTooLarge", fmt.Sprintf(
		"the answer is over %d bytes, more than an SCF response may carry; %s", MaxResponseBytes, hint), "")
	return &resp
}

func storeUnavailable() *httpAnswer {
	resp := errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "cannot read back the snapshot just written; try again later", "")
	return &resp
}

func formatNames(fs []usage.Format) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ",")
}
