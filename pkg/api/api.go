// Package api serves lbdns's management API: Cloudflare's API v4 for load balancing (monitors,
// monitor groups, pools, load balancers, previews, references, regions, zones, health events) under
// /client/v4, with Cloudflare's paths, JSON shapes and response envelope, so cloudflare-go and
// existing scripts work by changing the base URL (CONTRACT §4, rulings 29-35).
//
// The package owns the HTTP side only: authentication (bearer tokens with read or write scope),
// decoding, PUT/PATCH semantics, the order of checks on a write (404 → 409 → 400 → references),
// validation through the shared functions of pkg/model, and the envelope. State lives behind
// the Backend interface; NewMemoryBackend implements it over pkg/store and a publish callback.
// It imports model, store and region.
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Prefix is the path every API route lives under.
const Prefix = "/client/v4"

// maxBody bounds request bodies.
const maxBody = 1 << 20

// Scope is what a token may do.
type Scope string

// Token scopes (CONTRACT §2 api.tokens[].scope).
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
)

// Token is one accepted bearer token. Name appears in logs; Secret never does.
type Token struct {
	Name   string
	Secret string
	Scope  Scope
}

// Options configure the handler.
type Options struct {
	AccountID string  // the one account; other account ids in paths get 404
	Tokens    []Token // accepted bearer tokens
	Backend   Backend
	Log       zerolog.Logger
	PoP       string           // key of pop_health in pool health (server.pop.code); "lbdns" if empty
	Now       func() time.Time // clock for created_on/modified_on; time.Now if nil
	NewID     func() string    // ids of new objects; model.NewID if nil
}

type token struct {
	name  string
	sum   [sha256.Size]byte
	write bool
}

// Handler is the API's http.Handler.
type Handler struct {
	opts     Options
	tokens   atomic.Pointer[[]token] // replaced whole by SetTokens (SIGHUP)
	mux      *http.ServeMux
	previews *previews
}

// New returns the API handler. It serves paths under Prefix and answers everything else with
// 404 in the envelope.
func New(opts Options) (*Handler, error) {
	if opts.Backend == nil {
		return nil, errors.New("api: no backend")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PoP == "" {
		opts.PoP = "lbdns"
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), previews: newPreviews()}
	if err := h.SetTokens(opts.Tokens); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// SetTokens replaces the accepted bearer tokens (a reload rotates them). Requests already
// being authenticated use either the old set or the new one, never a mix. On error the old
// set stays.
func (h *Handler) SetTokens(ts []Token) error {
	out := make([]token, 0, len(ts))
	for i, t := range ts {
		if t.Secret == "" {
			return fmt.Errorf("api: token %d (%s) is empty", i, t.Name)
		}
		if t.Scope != ScopeRead && t.Scope != ScopeWrite {
			return fmt.Errorf("api: token %s: scope %q is neither read nor write", t.Name, t.Scope)
		}
		out = append(out, token{name: t.Name, sum: sha256.Sum256([]byte(t.Secret)), write: t.Scope == ScopeWrite})
	}
	h.tokens.Store(&out)
	return nil
}

// ServeHTTP authenticates the request, routes it and logs one line about it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.opts.Now()
	rec := &statusWriter{ResponseWriter: w}
	tok, status := h.authenticate(r)
	switch {
	case status == http.StatusUnauthorized:
		writeError(rec, &Error{Status: status, Code: CodeAuth, Msgs: []string{"missing or unknown bearer token (Authorization: Bearer TOKEN)"}})
	case status == http.StatusForbidden:
		writeError(rec, &Error{Status: status, Code: CodeAuth, Msgs: []string{"this token has read scope: " + r.Method + " needs a write token"}})
	default:
		r.Body = http.MaxBytesReader(rec, r.Body, maxBody)
		hnd, pattern := h.mux.Handler(r)
		if pattern == "" {
			probe := &statusWriter{ResponseWriter: discard{}}
			hnd.ServeHTTP(probe, r)
			if probe.status == http.StatusMethodNotAllowed {
				writeError(rec, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethod, Msgs: []string{r.Method + " is not allowed on " + r.URL.Path}})
			} else {
				writeError(rec, errNoRoute(r.URL.Path))
			}
		} else {
			h.mux.ServeHTTP(rec, r) // (Handler does not set the path values)
		}
	}
	ev := h.opts.Log.Info()
	if rec.status >= 500 {
		ev = h.opts.Log.Error()
	}
	// Never the Authorization header or the query string: only the token's name.
	ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", rec.statusOr200()).
		Str("token", tok).Str("remote", r.RemoteAddr).Dur("took", h.opts.Now().Sub(start)).Msg("api request")
}

// authenticate returns the token name and 0, or 401/403.
func (h *Handler) authenticate(r *http.Request) (string, int) {
	auth := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return "", http.StatusUnauthorized
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	var found *token
	tokens := *h.tokens.Load()
	for i := range tokens { // every token is compared, in constant time each
		if subtle.ConstantTimeCompare(sum[:], tokens[i].sum[:]) == 1 {
			found = &tokens[i]
		}
	}
	if found == nil {
		return "", http.StatusUnauthorized
	}
	if !found.write && !isRead(r.Method) {
		return found.name, http.StatusForbidden
	}
	return found.name, 0
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// ---- envelope ----

// Error codes in the envelope's errors[].code.
const (
	CodeBadRequest = 1001 // malformed JSON or query parameter
	CodeInvalid    = 1002 // validation failed: the message names the field
	CodeReferenced = 1003 // delete of an object that others still reference
	CodeNotFound   = 1004 // unknown object id
	CodeFromFile   = 1005 // object declared in the config file (409)
	CodeInternal   = 1006 // persisting or publishing failed
	CodeUnavail    = 1007 // feature not available (no prober for previews)
	CodeNoRoute    = 7003 // Cloudflare's "could not route" (unknown path or account)
	CodeMethod     = 10405
	CodeAuth       = 10000 // Cloudflare's "Authentication error"
	CodeWarning    = 1100  // messages[]: a warning about the written object
)

// Error is an API error: an HTTP status and one envelope error per message.
type Error struct {
	Status int
	Code   int
	Msgs   []string
}

func (e *Error) Error() string { return strings.Join(e.Msgs, "; ") }

func errorf(status, code int, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Msgs: []string{fmt.Sprintf(format, args...)}}
}

func errNoRoute(path string) *Error {
	return errorf(http.StatusNotFound, CodeNoRoute, "Could not route to %s, perhaps your object identifier is invalid?", path)
}

type info struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ResultInfo is the pagination block of list replies.
type ResultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type envelope struct {
	Success    bool        `json:"success"`
	Errors     []info      `json:"errors"`
	Messages   []info      `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *ResultInfo `json:"result_info,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, env envelope) {
	if env.Errors == nil {
		env.Errors = []info{}
	}
	if env.Messages == nil {
		env.Messages = []info{}
	}
	b, err := json.Marshal(env)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"success":false,"errors":[{"code":1006,"message":"encoding the reply failed"}],"messages":[],"result":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeResult(w http.ResponseWriter, status int, result any, ri *ResultInfo, warnings []string) {
	env := envelope{Success: true, Result: result, ResultInfo: ri}
	for _, m := range warnings {
		env.Messages = append(env.Messages, info{Code: CodeWarning, Message: m})
	}
	writeJSON(w, status, env)
}

func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Msgs: []string{err.Error()}}
	}
	env := envelope{Success: false}
	for _, m := range e.Msgs {
		env.Errors = append(env.Errors, info{Code: e.Code, Message: m})
	}
	writeJSON(w, e.Status, env)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) statusOr200() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// ---- previews kept for GET .../preview/{id} ----

const maxPreviews = 64

type preview struct {
	done   chan struct{}
	result map[string]previewPool
	err    error
}

type previews struct {
	mu    sync.Mutex
	byID  map[string]*preview
	order []string
}

func newPreviews() *previews { return &previews{byID: map[string]*preview{}} }

func (p *previews) add(id string, pv *preview) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byID[id] = pv
	p.order = append(p.order, id)
	for len(p.order) > maxPreviews {
		delete(p.byID, p.order[0])
		p.order = p.order[1:]
	}
}

func (p *previews) get(id string) *preview {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byID[id]
}
