package secret

import (
	"regexp"
	"strings"

	"github.com/vigil-sec/vigil/internal/finding"
)

// vgDottedIdent matches code references such as config.db.password.
var vgDottedIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$`)

// vgGenericValue is vgPlausible plus refusing code references.
func vgGenericValue(s string) bool {
	return vgPlausible(s) && !vgDottedIdent.MatchString(s) && !strings.HasPrefix(strings.ToLower(s), "bearer")
}

// vgQuoted is key = "value" in code or JSON/YAML with the value quoted.
func vgQuoted(id, desc string, sev finding.Severity, kws []string, keyExpr string, minLen string, ent float64, ex, non []string) *Rule {
	r := vgRule(id, desc, sev, vgS("generic"), kws,
		`(?i)`+keyExpr+`[\w.\-]{0,20}["'\x60]?\s*(?:=|:=|=>|:)\s*["'\x60](?P<secret>[^"'\x60\s]{`+minLen+`,128})["'\x60]`,
		ex, non)
	r.Entropy = ent
	r.Validate = vgGenericValue
	return r
}

// vgUnquoted is KEY=value / key: value on its own line (.env, YAML,
// properties), the value unquoted.
func vgUnquoted(id, desc string, sev finding.Severity, kws []string, keyExpr string, minLen string, ent float64, ex, non []string) *Rule {
	r := vgRule(id, desc, sev, vgS("generic"), kws,
		`(?im)^[\t ]*(?:export[\t ]+|-[\t ]+)?[\w.\-]{0,30}`+keyExpr+`[\w.\-]{0,20}[\t ]*[:=][\t ]*(?P<secret>[^\s"'\x60<>{}()\[\],;#$][^\s"'\x60<>{}()\[\],;#]{`+minLen+`,127})[\t ]*$`,
		ex, non)
	r.Entropy = ent
	r.Validate = vgGenericValue
	return r
}

func genericRules() []*Rule {
	return []*Rule{
		vgQuoted("generic-password", "Password assigned in code or config", vgMed, vgS("password", "passwd", "pwd"),
			`(?:passw(?:or)?d|pwd)`, "8", 3.0,
			vgS(`db_password = "kR8#vLq2!mZt"`, `{"password": "Tq9$wLp3xZ7n"}`),
			vgS(`password = os.Getenv("DB_PASSWORD")`, `"password": "${DB_PASSWORD}"`, `password: "changeme123"`, `pwd := "aaaaaaaaaa"`)),
		vgUnquoted("generic-password-unquoted", "Password in an env, YAML or properties file", vgMed, vgS("password", "passwd", "pwd"),
			`(?:passw(?:or)?d|pwd)`, "7", 3.0,
			vgS("DB_PASSWORD=Xk92!fpaLq7z", "spring:\n  datasource:\n    password: hT6kq$P2zL9w"),
			vgS("DB_PASSWORD=${DB_PASSWORD}", "password: {{ .Values.db.password }}", "DB_PASSWORD=", "password = settings.database.pass")),
		vgQuoted("generic-secret", "Secret assigned in code or config", vgLow, vgS("secret"),
			`secret`, "12", 3.5,
			vgS(`client_secret = "Jx7Pq2LmZ9vK4tRw"`),
			vgS(`client_secret = "<client-secret>"`, `secret: "${{ secrets.APP }}"`, `secret = "aaaaaaaaaaaaaaaa"`)),
		vgQuoted("generic-token", "Token assigned in code or config", vgLow, vgS("token"),
			`token`, "16", 3.5,
			vgS(`const accessToken = "Zp4Lq9vX2mK7tR3wNs8y"`),
			vgS(`token = process.env.TOKEN || ""`, `token: "{{ token }}"`, `csrf_token = "short"`)),
		vgQuoted("generic-api-key", "API key assigned in code or config", vgMed, vgS("api_key", "apikey", "api-key"),
			`api[_.\-]?key`, "16", 3.5,
			vgS(`API_KEY: "b7Qz2LpX9mK4vT8wRn3s"`),
			vgS(`api_key = "YOUR_API_KEY_HERE_PLEASE"`, `apiKey: "xxxxxxxxxxxxxxxxxxxx"`, `api_key = "abc"`)),
		vgQuoted("generic-access-key", "Access key assigned in code or config", vgMed, vgS("access_key", "accesskey", "access-key"),
			`access[_.\-]?key`, "16", 3.5,
			vgS(`storage_access_key = "Hq3Zt8LmP2vX9kR4wN7c"`),
			vgS(`access_key = "${ACCESS_KEY}"`, `accessKey: "0000000000000000"`, `access_key = "shortkey"`)),
		vgQuoted("generic-private-key-value", "Private key material assigned as a single-line value", vgMed, vgS("private_key", "privatekey", "private-key"),
			`private[_.\-]?key`, "32", 4.0,
			vgS(`signing_private_key = "ybUhRkgLZogxdBGJgEI75CnViFyJ/j9GOdhlaFvxaOkMUQsOx8zs+ewbfjT1f0z2"`),
			vgS(`private_key = "${PRIVATE_KEY}"`, `private_key_path = "/etc/ssl/private/server.key"`, `private_key = "Ouzn3wa0vU+bJJXC"`)),
		vgQuoted("generic-credential", "Credential assigned in code or config", vgLow, vgS("credential"),
			`credentials?`, "12", 3.5,
			vgS(`service_credential = "Vm8kQz3Lp7Xt2RwN"`),
			vgS(`credential = "<credential>"`, `credentials: "default"`, `credential_file = "/etc/creds.json"`)),
		vgUnquoted("generic-secret-unquoted", "Secret, token or key in an env, YAML or properties file", vgLow, vgS("secret", "token", "api_key", "apikey", "access_key", "private_key", "credential", "auth"),
			`(?:secret|token|api[_.\-]?key|access[_.\-]?key|private[_.\-]?key|credentials?|auth[_.\-]?key)`, "15", 3.5,
			vgS("JWT_SIGNING_SECRET=Rk9vQ2xLp7Zt4mWn8s", "  auth_key: X8pLq2Zv9Kt4mR7wNs"),
			vgS("APP_SECRET=${APP_SECRET}", "TOKEN_TTL=3600", "API_KEY=xxxxxxxxxxxxxxxxxxxxxxxx", "token: {{ .Values.token }}")),
		vgEnt(vgVal(vgRule("generic-bearer-token", "Bearer token in an Authorization header", vgLow, vgS("generic", "token"), vgS("auth", "bearer"),
			`(?i)auth(?:orization)?["'\x60]?\s*[:=]\s*["'\x60]?bearer\s+(?P<secret>[0-9A-Za-z_\-.~+/]{20,1000}=*)`,
			vgS(`curl -H "Authorization: Bearer Zp4Lq9vX2mK7tR3wNs8yQ1"`),
			vgS(`-H "Authorization: Bearer $TOKEN"`, `Authorization: Bearer <token>`, `Authorization: Bearer xxxxxxxxxxxxxxxxxxxxxxxx`)), vgGenericValue), 3.5),
		vgVal(vgRule("generic-basic-auth-header", "Basic credentials in an Authorization header", vgMed, vgS("generic", "password"), vgS("basic "),
			`(?i)auth(?:orization)?["'\x60]?\s*[:=]\s*["'\x60]?basic\s+(?P<secret>[0-9A-Za-z+/]{8,1000}={0,2})`,
			vgS(`Authorization: Basic ZGVwbG95OkxxOCF2WjJwWGs=`),
			vgS(`Authorization: Basic dXNlcjpwYXNzd29yZA==`, `Authorization: Basic $CREDS`)), vgB64UserPass),
		vgEnt(vgVal(vgRule("generic-url-credentials", "Password in an HTTP(S) URL", vgMed, vgS("generic", "password"), vgS("://"),
			`(?i)(?:^|[^0-9A-Za-z+.\-])https?://[^\s:/@"'<>]{1,64}:(?P<secret>[^\s:/@"'<>]{3,128})@[0-9A-Za-z_.\-]{1,253}`,
			vgS("pip install --index-url https://ci:Tq7x!Lm2pZ@pypi.example.com/simple pkg"),
			vgS("https://user:password@example.com", "https://user:${PASS}@example.com", "https://example.com/a:b@c")), vgPlausible), 2.5),
	}
}
