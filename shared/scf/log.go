package scf

import (
	"context"
	"log/slog"
)

// LogHandler is a slog.Handler that adds the invocation's "request_id" and
// "function" attributes to records logged with a context carrying an
// InvocationContext (logger.InfoContext(ctx, ...)). Records logged without
// such a context pass through unchanged.
//
// The attributes are added to the record, so after WithGroup they land
// inside the group; build group-free loggers for invocation logs.
type LogHandler struct {
	next slog.Handler
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

// Handle adds the invocation attributes, if any, and passes r on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if ic, ok := FromContext(ctx); ok {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", ic.RequestID))
		if ic.FunctionName != "" {
			r.AddAttrs(slog.String("function", ic.FunctionName))
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a LogHandler wrapping next.WithAttrs(attrs).
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a LogHandler wrapping next.WithGroup(name).
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name)}
}
