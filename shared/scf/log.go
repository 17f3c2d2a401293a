package scf

import (
	"context"
	"log/slog"
)

// Keys of the attributes LogHandler adds.
const (
	logKeyRequestID = "request_id"
	logKeyFunction  = "function"
)

// LogHandler is a slog.Handler that adds the invocation's "request_id" and
// "function" attributes to records logged with a context carrying an
// InvocationContext (logger.InfoContext(ctx, ...)). Records logged without
// such a context pass through unchanged.
//
// An attribute of the same name that the logger already carries at that level
// (attached with With, e.g. a function's main doing .With("function", "telcall"),
// or passed with the record) wins: the invocation's is not added, so no log
// line holds the same key twice.
//
// The attributes are added to the record, so after WithGroup they land
// inside the group; build group-free loggers for invocation logs.
type LogHandler struct {
	next slog.Handler
	// The invocation attributes already attached at the level where Handle adds
	// them: the innermost group, or the top level without groups.
	hasRequestID, hasFunction bool
}

var _ slog.Handler = (*LogHandler)(nil)

// NewLogHandler wraps next. In main:
//
//	logger := slog.New(scf.NewLogHandler(slog.NewJSONHandler(os.Stdout, nil)))
func NewLogHandler(next slog.Handler) *LogHandler {
	return &LogHandler{next: next}
}

// Enabled reports whether the wrapped handler handles level.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the invocation attributes, if any and not already present, and
// passes r on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if ic, ok := FromContext(ctx); ok {
		hasRequestID, hasFunction := h.hasRequestID, h.hasFunction
		r.Attrs(func(a slog.Attr) bool {
			hasRequestID, hasFunction = seen(a, hasRequestID, hasFunction)
			return true
		})
		var add []slog.Attr
		if !hasRequestID {
			add = append(add, slog.String(logKeyRequestID, ic.RequestID))
		}
		if ic.FunctionName != "" && !hasFunction {
			add = append(add, slog.String(logKeyFunction, ic.FunctionName))
		}
		if len(add) > 0 {
			r = r.Clone()
			r.AddAttrs(add...)
		}
	}
	return h.next.Handle(ctx, r)
}

// seen updates the flags with attribute a, looking into groups with an empty
// key, which handlers inline.
func seen(a slog.Attr, hasRequestID, hasFunction bool) (bool, bool) {
	switch {
	case a.Key == "" && a.Value.Kind() == slog.KindGroup:
		for _, g := range a.Value.Group() {
			hasRequestID, hasFunction = seen(g, hasRequestID, hasFunction)
		}
	case a.Key == logKeyRequestID:
		hasRequestID = true
	case a.Key == logKeyFunction:
		hasFunction = true
	}
	return hasRequestID, hasFunction
}

// WithAttrs returns a LogHandler wrapping next.WithAttrs(attrs).
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := &LogHandler{next: h.next.WithAttrs(attrs), hasRequestID: h.hasRequestID, hasFunction: h.hasFunction}
	for _, a := range attrs {
		c.hasRequestID, c.hasFunction = seen(a, c.hasRequestID, c.hasFunction)
	}
	return c
}

// WithGroup returns a LogHandler wrapping next.WithGroup(name). Attributes
// attached before it are outside the group, where Handle's no longer land.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &LogHandler{next: h.next.WithGroup(name)}
}
