package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/metrics"
)

// Endpoint paths served by Serve; deploy/ probes and scrapes them.
const (
	PathMetrics = "/metrics"
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
)

// shutdownTimeout bounds how long Serve waits for in-flight requests.
const shutdownTimeout = 5 * time.Second

// Handler serves /metrics (metrics.Registry, with the Go runtime and process
// collectors), /healthz (200 while the process serves) and /readyz (200 when
// h is ready, 503 otherwise, with a JSON body saying why).
func Handler(h *Health, logger *zap.Logger) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	mux := http.NewServeMux()
	mux.Handle(PathMetrics, promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{
		ErrorLog:          zap.NewStdLog(logger.Named("metrics")),
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc(PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	redact := NewRedactor()
	mux.HandleFunc(PathReadyz, func(w http.ResponseWriter, _ *http.Request) {
		r := h.Readiness()
		for i := range r.Components {
			r.Components[i].LastError = redact.Redact(r.Components[i].LastError)
		}
		w.Header().Set("Content-Type", "application/json")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(r)
	})
	return mux
}

// Serve listens on cfg.Listen and serves Handler until ctx ends, then shuts
// the server down gracefully. It returns nil after ctx ends, or the error
// that stopped it (for example, the address is in use).
func Serve(ctx context.Context, cfg Config, h *Health, logger *zap.Logger) error {
	cfg = cfg.withDefaults()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on ops.listen %q for /metrics, /healthz and /readyz (is another process using the port?): %w", cfg.Listen, err)
	}
	return ServeListener(ctx, l, h, logger)
}

// ServeListener is Serve on a listener the caller opened; it closes l.
func ServeListener(ctx context.Context, l net.Listener, h *Health, logger *zap.Logger) error {
	if logger == nil {
		logger = zap.NewNop()
	}
	srv := &http.Server{
		Handler:           Handler(h, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(logger.Named("http")),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	logger.Info("serving operations endpoints", zap.String("addr", l.Addr().String()),
		zap.Strings("paths", []string{PathMetrics, PathHealthz, PathReadyz}))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("operations server on %s stopped: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("operations server did not shut down cleanly", zap.Error(err))
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("operations server on %s stopped: %w", l.Addr(), err)
	}
	return nil
}
