package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Tasks sends commands to connected agents.
type Tasks interface {
	// Rescan asks the agent for a full inventory now.
	Rescan(ctx context.Context, agentID string) error
	// Revoke drops the agent's live connections after its revocation.
	Revoke(ctx context.Context, agentID string) error
}

// Options configure New. Store is required; the rest have defaults.
type Options struct {
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Tasks reaches connected agents; nil makes rescans unavailable (503)
	// and revocations only recorded.
	Tasks Tasks
	// AgentInstall, when set, renders the command that installs an agent
	// with an enrollment token, returned when the token is created.
	AgentInstall func(token string) string
	// Version is reported by /healthz and the OpenAPI document.
	Version string
	// PasswordParams are the argon2id parameters of new hashes; nil means
	// auth.DefaultParams (tests pass &auth.TestParams).
	PasswordParams *auth.Params
	// Throttle configures login throttling; nil means its defaults on Now.
	Throttle *auth.ThrottleOptions
	// SessionTTL is how long a login session lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// Notifier sends notification channels' test messages; nil makes
	// them unavailable (503).
	Notifier Notifier
}

// Access is what a route requires of its caller. The zero value is no
// requirement at all, which New refuses: every route states its access.
type Access int

// The access levels.
const (
	accessUnset Access = iota
	// Public routes need no token.
	Public
	// SignedIn routes need any valid session or API token.
	SignedIn
	// Read routes need role readonly or above with scope read.
	Read
	// Write routes need role analyst or above with scope write.
	Write
	// Admin routes need role admin with scope admin.
	Admin
)

// String names the access level as the OpenAPI document's x-vigil-access
// does.
func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case SignedIn:
		return "signed-in"
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Role returns the role a route of this access needs ("" for Public and
// SignedIn).
func (a Access) Role() store.Role {
	switch a {
	case Read:
		return store.RoleReadOnly
	case Write:
		return store.RoleAnalyst
	case Admin:
		return store.RoleAdmin
	}
	return ""
}

// Route describes one registered route.
type Route struct {
	Method string // GET, POST, PATCH, DELETE
	Path   string // a net/http pattern path: "/api/v1/agents/{id}"
	Access Access
	// Summary is the one-line description in the OpenAPI document.
	Summary string
}

// Server is the API's http.Handler.
type Server struct {
	o        Options
	st       store.Store
	tokens   *auth.Touches // st with token uses recorded in memory, written in the background
	log      *slog.Logger
	now      func() time.Time
	hasher   *auth.Hasher
	throttle *auth.Throttle
	routes   []route
	mux      *http.ServeMux
	// paths matches any method of a registered path, to tell 405 from 404.
	paths   *http.ServeMux
	allow   map[string]string // path pattern → its methods
	openapi []byte
	// userMu serialises user changes so two admins cannot demote each
	// other at once and leave none (one server process per store).
	userMu sync.Mutex
}

var _ http.Handler = (*Server)(nil)

// New builds the API. It panics on a nil Store or an invalid route table
// (a route without an access requirement, a duplicate, a bad pattern):
// programming errors a test catches.
func New(o Options) *Server { return newServer(o, (*Server).table) }

// newServer is New with the route table given, so tests can check that a
// bad table is refused.
func newServer(o Options, table func(*Server) []route) *Server {
	if o.Store == nil {
		panic("api.New: nil Store")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	to := auth.ThrottleOptions{Now: o.Now}
	if o.Throttle != nil {
		to = *o.Throttle
		if to.Now == nil {
			to.Now = o.Now
		}
	}
	s := &Server{
		o:        o,
		st:       o.Store,
		tokens:   auth.NewTouches(o.Store, 0),
		log:      o.Logger.With("component", "api"),
		now:      o.Now,
		hasher:   auth.NewHasher(&auth.HasherOptions{Params: o.PasswordParams}),
		throttle: auth.NewThrottle(&to),
		mux:      http.NewServeMux(),
		paths:    http.NewServeMux(),
	}
	s.routes = table(s)
	allowed := map[string][]string{}
	for _, rt := range s.routes {
		if err := rt.check(); err != nil {
			panic(fmt.Sprintf("api.New: route %s %s: %v", rt.Method, rt.Path, err))
		}
		if slices.Contains(allowed[rt.Path], rt.Method) {
			panic(fmt.Sprintf("api.New: route %s %s registered twice", rt.Method, rt.Path))
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	s.allow = map[string]string{}
	for path, methods := range allowed {
		s.allow[path] = strings.Join(methods, ", ")
		s.paths.Handle(path, http.NotFoundHandler())
	}
	// Anything else under the API answers only to a signed-in caller.
	s.mux.Handle(apiPrefix, s.fallback())
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errorf(http.StatusNotFound, codeNotFound, "no such path"))
	})
	s.openapi = s.buildOpenAPI()
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Routes returns the route table.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.Route
	}
	return out
}

const apiPrefix = "/api/v1/"

// handler serves one route; p is nil on public routes.
type handler func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// route is one entry of the route table: what it serves, who may call it,
// and what the OpenAPI document says about it.
type route struct {
	Route
	id     string // operationId
	tag    string
	body   any // request body prototype; nil: none
	resp   any // response prototype (the item type for lists); nil: 204
	status int // success status; 0 means 200 (204 when resp is nil)
	list   *listSpec
	query  []param // documented query parameters besides list ones
	intID  bool    // the {id} path parameter is an integer
	handle handler
}

// param documents a query parameter.
type param struct {
	name, desc string
	required   bool
}

var (
	methodRE = regexp.MustCompile(`^(GET|POST|PATCH|PUT|DELETE)$`)
	pathRE   = regexp.MustCompile(`^(/healthz|/api/v1(/([a-z][a-z0-9.-]*|\{[a-z]+\}))+)$`)
	idRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
)

func (rt route) check() error {
	switch {
	case rt.Access <= accessUnset || rt.Access > Admin:
		return fmt.Errorf("no access requirement")
	case !methodRE.MatchString(rt.Method):
		return fmt.Errorf("bad method")
	case !pathRE.MatchString(rt.Path):
		return fmt.Errorf("bad path")
	case rt.handle == nil:
		return fmt.Errorf("no handler")
	case !idRE.MatchString(rt.id):
		return fmt.Errorf("bad operation id %q", rt.id)
	case rt.Summary == "" || rt.tag == "":
		return fmt.Errorf("undocumented")
	case rt.Access == Public && rt.Path != "/healthz" && !slices.Contains(publicPaths, rt.Path):
		return fmt.Errorf("public route not in the public allowlist")
	case rt.list != nil && rt.Method != http.MethodGet:
		return fmt.Errorf("list on %s", rt.Method)
	case rt.body != nil && (rt.Method == http.MethodGet || rt.Method == http.MethodDelete):
		return fmt.Errorf("request body on %s", rt.Method)
	}
	return nil
}

// publicPaths are the only API paths that may be public.
var publicPaths = []string{"/api/v1/login", "/api/v1/openapi.json"}

// wrap authenticates and authorises the caller as rt requires before
// calling its handler.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var pp *auth.Principal
		if rt.Access != Public {
			p, err := s.authenticate(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if rt.Access != SignedIn {
				if err := p.Check(rt.Access.Role()); err != nil {
					s.fail(w, r, err)
					return
				}
			}
			pp = &p
		}
		if err := rt.handle(w, r, pp); err != nil {
			s.fail(w, r, err)
		}
	})
}

// fallback answers paths under /api/v1 that no route serves: 401 before
// anything else, then 405 for a known path or 404.
func (s *Server) fallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r); err != nil {
			s.fail(w, r, err)
			return
		}
		if _, pattern := s.paths.Handler(r); s.allow[pattern] != "" {
			w.Header().Set("Allow", s.allow[pattern])
			s.fail(w, r, errorf(http.StatusMethodNotAllowed, codeMethod, "method %s not allowed", r.Method))
			return
		}
		s.fail(w, r, errorf(http.StatusNotFound, codeNotFound, "no such path"))
	})
}

func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	return auth.Authenticate(r.Context(), s.tokens, auth.BearerToken(r.Header.Get("Authorization")), s.now())
}

// remoteAddr is the caller's IP address (no port). Proxies are not
// trusted: X-Forwarded-For is ignored.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
