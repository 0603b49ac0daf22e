package secret

import (
	"hash/crc32"
	"regexp"
	"strings"

	"github.com/vigil-sec/vigil/internal/finding"
)

// Shared construction helpers for the rule files (rules_dev.go,
// rules_key.go, rules_generic.go). The vg prefix keeps them apart from
// the engine's names.
const (
	vgCrit = finding.SeverityCritical
	vgHigh = finding.SeverityHigh
	vgMed  = finding.SeverityMedium
	vgLow  = finding.SeverityLow

	// vgL and vgR anchor a token at identifier boundaries; vgRd also
	// refuses a following dash or dot, for tokens whose alphabet has them.
	vgL  = `(?:^|[^0-9A-Za-z_])`
	vgR  = `(?:[^0-9A-Za-z_]|$)`
	vgRd = `(?:[^0-9A-Za-z_.\-]|$)`
	// vgAssign is an assignment operator with an optional quote on the key
	// side and on the value side: key="v", key: 'v', "key": "v", KEY=v.
	vgAssign = `["'\x60]?\s*(?:=|:=|=>|:)\s*["'\x60]?`
	// vgUUID is a lowercase or uppercase RFC 4122 textual UUID.
	vgUUID = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
)

func vgS(s ...string) []string { return s }

func vgRule(id, desc string, sev finding.Severity, tags, kws []string, expr string, ex, non []string) *Rule {
	return &Rule{
		ID: id, Description: desc, Severity: sev, Tags: tags, Keywords: kws,
		Regex: regexp.MustCompile(expr), Examples: ex, NonExamples: non,
	}
}

// vgTok is a token with a distinctive literal prefix, anchored at
// identifier boundaries, with an entropy floor that rejects xxxx fillers.
func vgTok(id, desc string, sev finding.Severity, tags, kws []string, body string, ex, non []string) *Rule {
	r := vgRule(id, desc, sev, tags, kws, vgL+`(?P<secret>`+body+`)`+vgRd, ex, non)
	r.Entropy = 3.0
	return r
}

// vgCtx is a value that only means something next to a product name: the
// keyword must occur near, and the value must be assigned to a key whose
// name matches keyExpr.
func vgCtx(id, desc string, sev finding.Severity, tags, kws []string, keyExpr, value string, ex, non []string) *Rule {
	r := vgRule(id, desc, sev, tags, kws, `(?i)`+keyExpr+`[\w.\-]{0,20}`+vgAssign+`(?P<secret>`+value+`)`+vgRd, ex, non)
	r.Entropy = 3.0
	return r
}

func vgEnt(r *Rule, e float64) *Rule { r.Entropy = e; return r }

func vgVal(r *Rule, f func(string) bool) *Rule { r.Validate = f; return r }

const vgBase62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// vgBase62Checksum checks the checksum GitHub published for its 2021 token
// format: the last six characters are the CRC-32 of the thirty random
// characters before them, in base 62, zero-padded.
func vgBase62Checksum(s string) bool {
	i := strings.LastIndexByte(s, '_')
	body := s[i+1:]
	if len(body) != 36 {
		return false
	}
	n := crc32.ChecksumIEEE([]byte(body[:30]))
	var enc [6]byte
	for j := 5; j >= 0; j-- {
		enc[j] = vgBase62Digits[n%62]
		n /= 62
	}
	return n == 0 && string(enc[:]) == body[30:]
}

func devRules() []*Rule {
	gh := func(prefix, id, what string) *Rule {
		return vgVal(vgTok(id, "GitHub "+what, vgHigh, vgS("dev", "github"), vgS(prefix),
			prefix+`[0-9A-Za-z]{36}`,
			vgS("export GITHUB_TOKEN="+prefix+"8rKie8QVFoafmR6Kc7kdfeSYUhWlB10RzJfY", `token: "`+prefix+`6LVY1ExazOFt0qgXZFCUcUNKI8SFCI2k7gYX"`),
			vgS("GITHUB_TOKEN="+prefix+"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "token = "+prefix+"wL6UiLTPukVZWhpGdjeGx30lYOdQLK095teA", "token = "+prefix+"9ZLgDvDdA2cZQj21C5SeV85YkRWcgD10HsMBabc")),
			vgBase62Checksum)
	}
	return []*Rule{
		gh("ghp_", "github-pat", "classic personal access token"),
		gh("gho_", "github-oauth-token", "OAuth access token"),
		gh("ghu_", "github-user-to-server-token", "App user-to-server token"),
		gh("ghs_", "github-server-to-server-token", "App installation (server-to-server) token"),
		gh("ghr_", "github-refresh-token", "App refresh token"),
		vgTok("github-fine-grained-pat", "GitHub fine-grained personal access token", vgHigh, vgS("dev", "github"), vgS("github_pat_"),
			`github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}`,
			vgS("GH_TOKEN=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"),
			vgS("GH_TOKEN=github_pat_xlH3R2X2w65jNxKVHQTJdE_bPVHlymU0zraMtQf7ETiUCLJm9kvGgHplJY4eJZs", "github_pat_xxxxxxxxxxxxxxxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")),
		vgCtx("github-oauth-app-secret", "GitHub OAuth/App client secret", vgHigh, vgS("dev", "github"), vgS("github"),
			`github[\w.\-]{0,20}(?:client|app|oauth)[_.\-]?secret`, `[0-9a-f]{40}`,
			vgS("GITHUB_CLIENT_SECRET=ad7c35dab184ae3b3c958a5fa403d332cda7671a", `github_oauth_secret: "38f4281c6f51e5d31f0e1cac3b77ae6323ef82d1"`),
			vgS("GITHUB_CLIENT_SECRET=b95357fd63e8cdf3aad0b950432a6d43c0ec56d", "GITHUB_CLIENT_SECRET=0000000000000000000000000000000000000000", "GITHUB_CLIENT_ID=d44a284e43c8d847e6c547964757c6073be36146")),

		// GitLab
		vgTok("gitlab-pat", "GitLab personal, project or group access token", vgHigh, vgS("dev", "gitlab"), vgS("glpat-"),
			`glpat-[0-9A-Za-z_\-]{20}(?:[0-9A-Za-z_\-]{7,60}\.[0-9a-z]{2}\.[0-9a-z]{9})?`,
			vgS("GITLAB_TOKEN=glpat-JsQsH8tznvQdfIBUBtVC", "private_token: glpat-jVy29jLnMGxqcI1J9JsFByvogdp.01.0gyoeiedb"),
			vgS("GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx", "GITLAB_TOKEN=glpat-74mrxrw0lVkE")),
		vgTok("gitlab-deploy-token", "GitLab deploy token", vgHigh, vgS("dev", "gitlab"), vgS("gldt-"),
			`gldt-[0-9A-Za-z_\-]{20}`,
			vgS("CI_DEPLOY_PASSWORD=gldt-SDT96TBKLypbf4lC8gWj"),
			vgS("CI_DEPLOY_PASSWORD=gldt-xxxxxxxxxxxxxxxxxxxx", "gldt-h1iIIEf5I9")),
		vgTok("gitlab-runner-token", "GitLab runner authentication token", vgHigh, vgS("dev", "gitlab", "ci"), vgS("glrt-"),
			`glrt-(?:t\d_)?[0-9A-Za-z_\-]{20}`,
			vgS(`token = "glrt-ml9djSSnkQE8vFxWZX62"`, `token = "glrt-t1_FBjF1Cv9RBVzMabohPFo"`),
			vgS(`token = "glrt-REPLACE_ME_WITH_TOKEN"`, `token = "glrt-OhM1CdP5pEQTKrw"`)),
		vgTok("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", vgHigh, vgS("dev", "gitlab", "ci"), vgS("glptt-"),
			`glptt-[0-9a-f]{40}`,
			vgS("curl -F token=glptt-3f51c3a5e604d40fe5df0c0162cc3f85e5dc1e4b -F ref=main https://gitlab.example.com/api/v4/projects/7/trigger/pipeline"),
			vgS("token=glptt-0000000000000000000000000000000000000000", "token=glptt-35233422a3552ab56547")),
		vgTok("gitlab-runner-registration-token", "GitLab runner registration token", vgHigh, vgS("dev", "gitlab", "ci"), vgS("GR1348941"),
			`GR1348941[0-9A-Za-z_\-]{20}`,
			vgS("gitlab-runner register --registration-token GR13489419qZ2dxjQBRNzXBETbLW3"),
			vgS("--registration-token GR1348941xxxxxxxxxxxxxxxxxxxx", "--registration-token GR1348941auhX3hLZ")),
		vgTok("gitlab-cicd-job-token", "GitLab CI/CD job token", vgHigh, vgS("dev", "gitlab", "ci"), vgS("glcbt-"),
			`glcbt-(?:[0-9a-fA-F]{1,5}_)?[0-9A-Za-z_\-]{20}`,
			vgS("CI_JOB_TOKEN=glcbt-64_HZrShd1cQaAeUJj4IwUT"),
			vgS("CI_JOB_TOKEN=glcbt-xxxxxxxxxxxxxxxxxxxx", "CI_JOB_TOKEN=glcbt-73DLe592F")),
		vgTok("gitlab-feed-token", "GitLab feed token", vgMed, vgS("dev", "gitlab"), vgS("glft-"),
			`glft-[0-9A-Za-z_\-]{20}`,
			vgS("https://gitlab.example.com/dashboard/issues.atom?feed_token=glft-iIExs8eRDyappJ1IYQK9"),
			vgS("feed_token=glft-xxxxxxxxxxxxxxxxxxxx", "feed_token=glft-tFQEW3EXGsd")),
		vgTok("gitlab-incoming-mail-token", "GitLab incoming mail token", vgMed, vgS("dev", "gitlab"), vgS("glimt-"),
			`glimt-[0-9A-Za-z_\-]{25}`,
			vgS("reply+glimt-a4l2gessmgowxxpp8cptnoat2@incoming.gitlab.example.com"),
			vgS("glimt-xxxxxxxxxxxxxxxxxxxxxxxxx", "glimt-av0ewqb3cq0q")),
		vgTok("gitlab-scim-token", "GitLab SCIM OAuth access token", vgHigh, vgS("dev", "gitlab"), vgS("glsoat-"),
			`glsoat-[0-9A-Za-z_\-]{20}`,
			vgS("Authorization: Bearer glsoat-iu3eQrbjed6Ulp8UeDIQ"),
			vgS("Authorization: Bearer glsoat-xxxxxxxxxxxxxxxxxxxx", "glsoat-aoz7ef5shmQ9qh")),
		vgTok("gitlab-oauth-app-secret", "GitLab OAuth application secret", vgHigh, vgS("dev", "gitlab"), vgS("gloas-"),
			`gloas-[0-9a-f]{64}`,
			vgS("GITLAB_APP_SECRET=gloas-e57bdbb41a7c8b1a361bdf624061ada3f498600edf724b16d57ab253f45dd7b7"),
			vgS("GITLAB_APP_SECRET=gloas-661d0134e77808b8fed33ba47920e132b0984183", "gloas-0000000000000000000000000000000000000000000000000000000000000000")),

		// Atlassian
		vgTok("bitbucket-app-password", "Bitbucket app password or API token", vgHigh, vgS("dev", "bitbucket"), vgS("ATBB"),
			`ATBB[0-9A-Za-z]{28}[0-9A-F]{8}`,
			vgS("BITBUCKET_APP_PASSWORD=ATBBbisJNwtIMSPAkM0l9VI0RFvbZ9Zk73F760AA"),
			vgS("BITBUCKET_APP_PASSWORD=ATBBxxxxxxxxxxxxxxxxxxxxxxxxxxxx00000000", "ATBBNJfiZJN0L20G")),
		vgTok("bitbucket-access-token", "Bitbucket repository/workspace access token", vgHigh, vgS("dev", "bitbucket"), vgS("ATCTT3xFfGN0"),
			`ATCTT3xFfGN0[0-9A-Za-z_\-=]{150,260}`,
			vgS("BITBUCKET_TOKEN=ATCTT3xFfGN09RyoiH5BRPa3Dgq_vZM7reGt0_g3_BoBSpUWj9lAz-mrNtnZZ2xMxsTbso3MXCjQz8fFQBJiYBJ0TftebX60V_-JJv6yJrmj7SgGkq8zbs6nxFaHvq9Gs-3j0fevrnOKJAbQphpc4e03He1kx1KqOsjgQ5Gf4lHDUV2l2i3RQr=5E6B2F5E"),
			vgS("BITBUCKET_TOKEN=ATCTT3xFfGN0tJFG3OIf1vo-D17oyngZDlU5suOBdN09bDleWAeV", "ATCTT3xFfGN0 is the prefix")),
		vgTok("atlassian-api-token", "Atlassian (Jira/Confluence) API token", vgHigh, vgS("dev", "atlassian"), vgS("ATATT3"),
			`ATATT3[0-9A-Za-z_\-=]{150,260}`,
			vgS("JIRA_API_TOKEN=ATATT3xFfGF0qTiybL-Xipe2_awvs97Ka40PYmcvnr3r_ZQWc60J4vuI7Olnw-UZ0RJ0uxYJ5EXjK4T6x975QqihFFjZBjYzv25y5memQAEFzmwjUzKSXNPAtyefxma7KUp1uY3o1f_iCYIFI_bEqhycbLPt58XBVvkWLVBlhFz378JTM7NU67=1BAEFF40"),
			vgS("JIRA_API_TOKEN=ATATT3xFfGF0rDbRMB1L7LBeA646Nx-dJxeD_Cd9FK", "JIRA_API_TOKEN=ATATT3<your-token>")),

		// Slack
		vgTok("slack-bot-token", "Slack bot token", vgHigh, vgS("chat", "slack"), vgS("xoxb-"),
			`xoxb-[0-9]{10,13}-[0-9]{10,13}-[0-9A-Za-z]{24}`,
			vgS("SLACK_BOT_TOKEN=xoxb-029656637126-3471346295876-gG7mOhjr72OYX4OtsfSYhM2m"),
			vgS("SLACK_BOT_TOKEN=xoxb-your-bot-token", "xoxb-000000000000-0000000000000-xxxxxxxxxxxxxxxxxxxxxxxx", "xoxb-320060237878-3535750677879-duIdJ1wI2A")),
		vgTok("slack-user-token", "Slack user token", vgHigh, vgS("chat", "slack"), vgS("xoxp-"),
			`xoxp-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[0-9a-f]{32}`,
			vgS("slack_token = \"xoxp-302747735031-072554519479-7975625605305-542323cf38726166d515d2d7be869899\""),
			vgS("xoxp-your-user-token", "xoxp-901510214841-052068495063-7166781513173-c493662e80d04b21a07f")),
		vgTok("slack-legacy-token", "Slack workspace access or refresh token (xoxa/xoxr)", vgHigh, vgS("chat", "slack"), vgS("xoxa-", "xoxr-"),
			`xox[ar]-[0-9]{1,2}-[0-9A-Za-z\-]{30,180}`,
			vgS("SLACK_REFRESH=xoxr-2-431393543678-6490337589429-2f97e8f73d05bba3d16f372a2c7e015352b0c72ae04ea0481df5303000597f2f"),
			vgS("xoxa-2-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "xoxr-2-4871130898")),
		vgTok("slack-config-token", "Slack app configuration access or refresh token", vgHigh, vgS("chat", "slack"), vgS("xoxe"),
			`xoxe(?:\.xox[bp])?-[0-9]-[0-9A-Za-z]{140,260}`,
			vgS("SLACK_CONFIG_TOKEN=xoxe.xoxp-1-XhNeodPbArRMTXOVGhb0TCQejmjP0Jafsr3uDXocBWfluk7tGjMzWjCtAl8t1fYEJeWp7vVqCDLqzCKrAAzlvJO4j94RxCFeTK7PwkAqqZPlWkTw0AZfdXXXHGgOdONO0kas4XmBtzcR30y73iq71dFtv0TCkr8r", "refresh: xoxe-1-tTz5La7GXiGKKWucOYMebjtDRZHEjayKACMCoUsgtkTRQYaRs7AKm0ofxkmn0AupKF4hM5LcgkXuJP67fGd12crWSD7bIUfSbyVmbQE6AejC3lhr74FJh44msrHWx6qKYfBkNpOvekah5z1I7M"),
			vgS("SLACK_CONFIG_TOKEN=xoxe.xoxp-1-9J6Vkb0kCquf58xhfOJHWBrFlRP2fHyE0h0Vr6Vd", "xoxe.xoxp-1-<config token>")),
		vgTok("slack-app-token", "Slack app-level token", vgHigh, vgS("chat", "slack"), vgS("xapp-"),
			`xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,14}-[0-9a-f]{64}`,
			vgS("SLACK_APP_TOKEN=xapp-1-AJC6E1X41EQ-5574354465260-7b0436ac1240d72c1c0c51d651e4c5c7de5ff88b4738279e8bf382d280f27d8b"),
			vgS("SLACK_APP_TOKEN=xapp-1-XXXXXXXXX-0000000000-<hex>", "xapp-1-AJNOJ0F79DV-6131753188075-f0c0d14db97aeca336d7cb92aa96b8d6")),
		vgEnt(vgRule("slack-webhook", "Slack incoming webhook URL", vgMed, vgS("chat", "slack", "webhook"), vgS("hooks.slack.com"),
			`hooks\.slack\.com/(?:services|workflows|triggers)/T[0-9A-Z]{8,12}/[AB0-9][0-9A-Z]{8,12}/(?:[0-9]{10,20}/)?(?P<secret>[0-9A-Za-z]{24,32})`+vgR,
			vgS("SLACK_WEBHOOK=https://hooks.slack.com/services/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"),
			vgS("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "https://hooks.slack.com/services/T27744RYVTL/B3I8VL1CS1Y/")), 3.0),

		// Discord, Telegram
		vgEnt(vgRule("discord-bot-token", "Discord bot token", vgHigh, vgS("chat", "discord"), vgS("discord"),
			vgL+`(?P<secret>[MNO][0-9A-Za-z_\-]{23,27}\.[0-9A-Za-z_\-]{6}\.[0-9A-Za-z_\-]{27,38})`+vgRd,
			vgS("DISCORD_BOT_TOKEN=MTusyGfA_XTG-zvdbW5YvgPEkf.bAtubP.Ksrhfc6ECQHALw48ckzqQ_a2Du_v6tk9rdhDGh"),
			vgS("DISCORD_BOT_TOKEN=your.bot.token", "discord client id MT-FB7GCdngMk234euZhHJ7SNK", "DISCORD_BOT_TOKEN=MTxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")), 3.5),
		vgRule("discord-webhook", "Discord webhook URL", vgMed, vgS("chat", "discord", "webhook"), vgS("/api/webhooks/"),
			`(?:discord|discordapp)\.com/api/webhooks/[0-9]{17,20}/(?P<secret>[0-9A-Za-z_\-]{60,72})`+vgRd,
			vgS("https://discord.com/api/webhooks/7132979233407877523/Ow5OMzJV-9UCvrvupAR5Cwr1iJfEhxfcnQ9wn7oKIhT3ZFf-TnAhMf0RMAl_7vSOzFin"),
			vgS("https://discord.com/api/webhooks/123/abc", "https://discord.com/api/webhooks/0513928638432334574/jYYQwjuyPNt_NQAzNHJt")),
		vgEnt(vgRule("telegram-bot-token", "Telegram Bot API token", vgHigh, vgS("chat", "telegram"), vgS(":AA"),
			`(?:^|[^0-9])(?P<secret>[0-9]{8,10}:AA[0-9A-Za-z_\-]{33})`+vgRd,
			vgS("TELEGRAM_BOT_TOKEN=0197138523:AAxAfBA6UtpnM8LJCKLUoSVY8bResYOuD7W", "https://api.telegram.org/bot3391556485:AAeqLN9LndlhpPg8LkU3nA2xOzCpDoRgbie/sendMessage"),
			vgS("TELEGRAM_BOT_TOKEN=123456:AAxxxx", "9995772764:AAjToR6wxh4A54uMCqqDIG")), 3.5),

		// Payments
		vgTok("stripe-live-secret-key", "Stripe live secret key", vgCrit, vgS("payment", "stripe"), vgS("sk_live_"),
			`sk_live_[0-9A-Za-z]{24,247}`,
			vgS("STRIPE_SECRET_KEY=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", "Stripe.api_key = 'sk_live_rq3KFtKkOv60qIUFhyHEfRUB'"),
			vgS("STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx", "sk_live_idGMwpn966")),
		vgTok("stripe-restricted-key", "Stripe live restricted key", vgCrit, vgS("payment", "stripe"), vgS("rk_live_"),
			`rk_live_[0-9A-Za-z]{24,247}`,
			vgS("STRIPE_KEY=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"),
			vgS("STRIPE_KEY=rk_live_...", "rk_live_YvvihUOENLye")),
		vgTok("stripe-test-secret-key", "Stripe test-mode secret key", vgMed, vgS("payment", "stripe", "test"), vgS("sk_test_"),
			`sk_test_[0-9A-Za-z]{24,247}`,
			vgS("STRIPE_SECRET_KEY=sk_test_51NHaynZBybZlULpkNDOXeGGZP8czI48KnqI58wudNJd38Os0ilXTuRZ91lK28wdyaS6PRjVdERqk8IVQtP2l7IKG3crnWMM9Id"),
			vgS("STRIPE_SECRET_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx", "sk_test_sEhQDT8E4c")),
		vgTok("stripe-webhook-secret", "Stripe webhook signing secret", vgMed, vgS("payment", "stripe", "webhook"), vgS("whsec_"),
			`whsec_[0-9A-Za-z+/=]{32,64}`,
			vgS("STRIPE_WEBHOOK_SECRET=whsec_z9u5uUybKDIMQDxudJGsFQA8C2xuUQZF"),
			vgS("STRIPE_WEBHOOK_SECRET=whsec_...", "whsec_1O8tUaq7wwSviTWt")),
		vgTok("square-access-token", "Square access token", vgCrit, vgS("payment", "square"), vgS("sq0atp-", "EAAA"),
			`(?:sq0atp-[0-9A-Za-z_\-]{22}|EAAA[0-9A-Za-z_\-]{60})`,
			vgS("SQUARE_ACCESS_TOKEN=EAAAtywohXMdcli0VsKt6mKBe8cxvkTSMjbBJTquShUOnZGrsGSDiTLmmcH_jb00", "square_token: sq0atp-KMueMTz4QgZbYPw-ZTCNrV"),
			vgS("SQUARE_ACCESS_TOKEN=EAAAxxxxxxxxxxxx", "sq0atp-4pnqJjdX0I")),
		vgTok("square-oauth-secret", "Square OAuth application secret", vgCrit, vgS("payment", "square"), vgS("sq0csp-"),
			`sq0csp-[0-9A-Za-z_\-]{43}`,
			vgS("SQUARE_APP_SECRET=sq0csp-il7RpUuoQ1vVyCXRrDvNVKPtsy6tSXhWUOiWCr6ppTZ"),
			vgS("SQUARE_APP_SECRET=sq0csp-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sq0csp-D8ZVtHJCJg48vjPAxVKw")),
		vgRule("braintree-access-token", "Braintree (PayPal) production access token", vgCrit, vgS("payment", "paypal", "braintree"), vgS("access_token$production$"),
			vgL+`(?P<secret>access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32})`+vgR,
			vgS("BT_TOKEN=access_token$production$vivbbhlei36ycmp3$f4d82fea675bf82749a8203c2a107e40"),
			vgS("BT_TOKEN=access_token$sandbox$mzx4yivheiwntsqo$fdd8622fd9cef4f041a979d1e7a0c5aa", "access_token$production$70h38pttuvy5foan$02722cf0c8")),
		vgEnt(vgRule("alipay-private-key", "Alipay application RSA private key", vgCrit, vgS("payment", "alipay", "key"), vgS("alipay"),
			`(?i)(?:app|merchant|alipay)[_.\-]?private[_.\-]?key`+vgAssign+`(?P<secret>MII[0-9A-Za-z+/]{600,1000})`,
			vgS("alipay.app-private-key=MIIEvQIBADANBgkqhkiG9w0BAQEFAASC7LLcxMDkQiFI3gfdRW5nR3U2AcjwDASbr3NLl2I69KCSiuhgW89PMdZ5XuczM5zS8jOFaPfzwHmvcsStSgWUa+rR/1XFTUKWnAGHYOOXz7hIKWKNbwYqYrowpO2NMD+q4TiNWPXw2hmW5A1/CKeYRMUz8cQoqYQ7TTWfifSqfJdtN3jRDobRADok3fQz7g0w0OwFdsteMizP2XyIZ7iOXxoUb5X+tkywrLFihhfmVTckzSJXk6ohp9TTbEEb7lVeHzB69UgQ6G3XXFy/AQIfyEJHn33/VplMUw/67uB9PX2RIWSYxSKJdiVv1BFBGovoC85xhhKmgHYiBs/YSG6JxkmgnbHF/ijnKnH7PyH9C0dTVsujvkYHAr+WAT01qppy8795Z125tUEiKzRSdlrncwaUefceIlfK1cYrVFVFMJL9zYMhDHqZGAwOyQ1Ef66h4amilUeOBRia6ZjEbkS5PkspwK8ifPTn2LYnxcAATQPAJmak4iiVpV9aQSVV9UV6kbklcQfXQFuvLetZI/yB/SAx/jiuMIHaqzspdpgV7t1O0geWtufNni0fLgC3qZqAze5JR+kG+KhbQvb3gaClG+3wk6mKgTbrcswBrySfNqbkIsklbR+oPPqW52OTJsGzXcLvVQ0CHsmsesrg3E8N4B3OQHP+WMh8qqC9l6Rp9HjoDzLnhj2xJNVf214pKEDzfV35+tRVJbFtilsj80HyZ7f0tcXMMJhnpzxCP2J0tJ7KJRON2ipCHRCnxBjYEqGo5NzGxCyTQrl+QLeGQj2PrYp8hRXBx7vo2HtNLeDXGPUO9c4k2UbUkqaf98Q0bDzM9COZc2r9zRK+ujuuLSZKBZzJFUCiQQpx9fHkJ9TR2lCi0tkwejzQ+n6Tyub3U2OjstkW=="),
			vgS("alipay.app-private-key=${ALIPAY_PRIVATE_KEY}", "alipay.app-private-key=MIIEvQqTth58H30D5mgCT0vLcaHpDGGUWm8V7lTKHRFjJZ9ktLhqAiS6ixLoXh8I/GUXN0Z3TF2yL1MC+yfNhqGQOYkxRtx//ltB8m0fsX")), 4.5),
		vgEnt(vgRule("wechat-pay-api-key", "WeChat Pay merchant API key", vgCrit, vgS("payment", "wechat"), vgS("wxpay", "wechatpay", "mch_id", "mchid"),
			`(?i)(?:api[_.\-]?v3[_.\-]?key|mch[_.\-]?key|pay[_.\-]?key|api[_.\-]?key)`+vgAssign+`(?P<secret>[0-9A-Za-z]{32})`+vgR,
			vgS("wxpay:\n  mch-id: 1107897996\n  api-v3-key: rEoy3t6gMRtiXwI6gC47NZn7a6XVo8Gz"),
			vgS("wxpay:\n  api-v3-key: ${WXPAY_KEY}", "wxpay:\n  api-v3-key: G3DbaG26i62If3en4aD0")), 3.5),
		vgCtx("paypal-client-secret", "PayPal REST client secret", vgCrit, vgS("payment", "paypal"), vgS("paypal"),
			`paypal[\w.\-]{0,20}secret`, `E[0-9A-Za-z_\-]{79}`,
			vgS("PAYPAL_CLIENT_SECRET=EON5ScOu4h3rMZ6gsjLZhGM3DjwE79U34C0ARXB5gaap33-WnHWB-Oz2_fYdSvK1AOFgXtTPzQJCi6Ci"),
			vgS("PAYPAL_CLIENT_SECRET=changeme", "PAYPAL_CLIENT_SECRET=EsjPWrRFIb38QGWmlJLl__uoNHJNtUo")),

		// Messaging and email
		vgEnt(vgRule("twilio-api-key", "Twilio API key SID", vgHigh, vgS("messaging", "twilio"), vgS("twilio"),
			vgL+`(?P<secret>SK[0-9a-f]{32})`+vgR,
			vgS("TWILIO_API_KEY=SKb875da20a9730e81f6507e9813075bd7"),
			vgS("TWILIO_API_KEY=SKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "TWILIO_API_KEY=SK49feb893f895dc9625ea", "SKa04c3faa8b6e681067ca4885a90f3917")), 3.0),
		vgCtx("twilio-auth-token", "Twilio auth token or API secret", vgHigh, vgS("messaging", "twilio"), vgS("twilio"),
			`twilio[\w.\-]{0,20}(?:auth[_.\-]?token|api[_.\-]?secret|secret)`, `[0-9a-f]{32}`,
			vgS("TWILIO_AUTH_TOKEN=cce51d22f685baae55e1c9e4856ea995", `twilioAuthToken: "235ffc36a8198d5ecbf55a7c793fd41d",`),
			vgS("TWILIO_AUTH_TOKEN=your_auth_token", "TWILIO_AUTH_TOKEN=b70140513192e700")),
		vgTok("sendgrid-api-key", "SendGrid API key", vgHigh, vgS("email", "sendgrid"), vgS("SG."),
			`SG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}`,
			vgS("SENDGRID_API_KEY=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"),
			vgS("SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "SG.zRpVG0Lfrfxz6EKIvbB4L1.Iludsy72_wkBS9ydMjl6")),
		vgTok("mailgun-api-key", "Mailgun private API key", vgHigh, vgS("email", "mailgun"), vgS("key-"),
			`key-[0-9a-f]{32}`,
			vgS("MAILGUN_API_KEY=key-cd12f037df9aa6fdf4bee27d7fb5a1ca"),
			vgS("MAILGUN_API_KEY=key-00000000000000000000000000000000", "api-key-76f3319a00252617")),
		vgTok("mailchimp-api-key", "Mailchimp API key", vgHigh, vgS("email", "mailchimp"), vgS("-us"),
			`[0-9a-f]{32}-us[0-9]{1,2}`,
			vgS("MAILCHIMP_API_KEY=558561b629bc0f8c961ef4c547341784-us21"),
			vgS("MAILCHIMP_API_KEY=00000000000000000000000000000000-us1", "cc038b8c3132271b0c89-us21", "en-us12")),
		vgEnt(vgRule("postmark-server-token", "Postmark server or account API token", vgHigh, vgS("email", "postmark"), vgS("postmark"),
			`(?i)postmark[\w.\-]{0,30}(?:token|key)`+vgAssign+`(?P<secret>`+vgUUID+`)`+vgR,
			vgS("POSTMARK_SERVER_TOKEN=fa3eb4a8-18ed-4348-a46d-104bf6f8cb6e", "X-Postmark-Server-Token: c4c49660-ce94-4afc-a714-471dbd6376d3"),
			vgS("POSTMARK_SERVER_TOKEN=00000000-0000-0000-0000-000000000000", "POSTMARK_SERVER_TOKEN=POSTMARK_API_TEST")), 3.0),

		// Chinese chat platforms
		vgRule("dingtalk-webhook", "DingTalk robot webhook access token", vgMed, vgS("chat", "dingtalk", "webhook"), vgS("oapi.dingtalk.com"),
			`oapi\.dingtalk\.com/robot/send\?access_token=(?P<secret>[0-9a-f]{64})`+vgR,
			vgS("https://oapi.dingtalk.com/robot/send?access_token=bae6c659667423f80ed3e15cfefd4558ed4fe9f4a79b2d4a713f32a00fe0af26"),
			vgS("https://oapi.dingtalk.com/robot/send?access_token=XXXXXX", "https://oapi.dingtalk.com/robot/send?access_token=649b28fd0f0036f1daacc364fad98fdb")),
		vgCtx("dingtalk-app-secret", "DingTalk application AppSecret", vgHigh, vgS("chat", "dingtalk"), vgS("dingtalk", "dingding"),
			`(?:app|client)[_.\-]?secret`, `[0-9A-Za-z_\-]{64}`,
			vgS("dingtalk:\n  app-key: dingh5kh4ttqcjm78tim\n  app-secret: Fge-JPtGX-4rdIH7XjICo_QFcfnO9kcAUAQBlIdhpZvAGItoPVtuAe1r5QxFeWlH"),
			vgS("dingtalk:\n  app-secret: ${DINGTALK_SECRET}", "dingtalk:\n  app-secret: PEOwYJrnD07IMYAHtTUW5188DyVVNmKt")),
		vgRule("feishu-webhook", "Feishu robot webhook", vgMed, vgS("chat", "feishu", "webhook"), vgS("open.feishu.cn"),
			`open\.feishu\.cn/open-apis/bot/v2/hook/(?P<secret>`+vgUUID+`)`+vgR,
			vgS("FEISHU_WEBHOOK=https://open.feishu.cn/open-apis/bot/v2/hook/bd233a97-6fde-4804-ad5d-69ee033b588c"),
			vgS("https://open.feishu.cn/open-apis/bot/v2/hook/xxxxxxxx", "https://open.feishu.cn/open-apis/bot/v2/hook/")),
		vgRule("lark-webhook", "Lark robot webhook", vgMed, vgS("chat", "lark", "webhook"), vgS("open.larksuite.com"),
			`open\.larksuite\.com/open-apis/bot/v2/hook/(?P<secret>`+vgUUID+`)`+vgR,
			vgS("https://open.larksuite.com/open-apis/bot/v2/hook/9335bcf4-01fb-4bc5-a586-923713e24c64"),
			vgS("https://open.larksuite.com/open-apis/bot/v2/hook/{token}", "https://open.larksuite.com/open-apis/bot/v2/hook/1234")),
		vgCtx("feishu-app-secret", "Feishu/Lark application secret", vgHigh, vgS("chat", "feishu"), vgS("feishu", "larksuite", "lark_"),
			`app[_.\-]?secret`, `[0-9A-Za-z]{32}`,
			vgS("FEISHU_APP_ID=cli_0665250b184f263c\nFEISHU_APP_SECRET=h3xlzKT5ZrhTHL7RUofxfeSUNGkdbZ9E"),
			vgS("FEISHU_APP_SECRET=<your app secret>", "FEISHU_APP_SECRET=UFPwXh4G8klpg9EW")),
		vgRule("wecom-webhook", "WeCom (WeChat Work) group robot webhook", vgMed, vgS("chat", "wecom", "webhook"), vgS("qyapi.weixin.qq.com"),
			`qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=(?P<secret>`+vgUUID+`)`+vgR,
			vgS("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=876262e6-63ab-46d3-a67b-d4f22a9756c2"),
			vgS("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=YOUR_KEY", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6")),
		vgCtx("wechat-app-secret", "WeChat official account / mini program AppSecret", vgHigh, vgS("chat", "wechat"), vgS("appsecret", "app_secret", "wechat", "weixin"),
			`app[_.\-]?secret`, `[0-9a-f]{32}`,
			vgS("wechat.appid=wxde8fe0ae2ddafb09\nwechat.appsecret=cfcf880706286754f7fc75706da85f07"),
			vgS("wechat.appsecret=${WX_SECRET}", "wechat.appsecret=33a695efba71ffa57eff4a57")),

		// Registries
		vgTok("npm-access-token", "npm access token", vgHigh, vgS("registry", "npm"), vgS("npm_"),
			`npm_[0-9A-Za-z]{36}`,
			vgS("//registry.npmjs.org/:_authToken=npm_GWE9sstNQzksEH2Mkq3i6aFyCoRgGdNhZcm7"),
			vgS("NPM_TOKEN=npm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "npm_371q0AhBybJ3Z4SmKAeV", "npm_config_cache")),
		vgEnt(vgRule("npm-legacy-auth-token", "npm legacy (UUID) auth token in .npmrc", vgHigh, vgS("registry", "npm"), vgS("_authToken"),
			`:_authToken\s*=\s*["']?(?P<secret>`+vgUUID+`)`+vgR,
			vgS("//registry.npmjs.org/:_authToken=0d6513cf-6a98-4c57-ac6d-740679e48b15"),
			vgS("//registry.npmjs.org/:_authToken=${NPM_TOKEN}", "//registry.npmjs.org/:_authToken=00000000-0000-0000-0000-000000000000")), 3.0),
		vgTok("pypi-token", "PyPI upload token", vgHigh, vgS("registry", "pypi"), vgS("pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"),
			`pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[0-9A-Za-z_\-]{50,300}`,
			vgS("password = pypi-AgEIcHlwaS5vcmcM4X7fPuEM-BkAvZNQasYcfheMjaZxDdMZdY7HZjY57896EPaof2UHnZGBUCOUFNLd7l08GFN9K4eaqdP2TyrmUyKWzVzWnMAjm3319gQRCXgPYfeMyEAT4x-HBOIEElTjgB_RpCP_Hnr03bzlrN8Gm"),
			vgS("password = pypi-AgEIcHlwaS5vcmc...", "password = pypi-AgEIcHlwaS5vcmcOpweH18UA2fSaFm7zr7v")),
		vgTok("rubygems-api-key", "RubyGems API key", vgHigh, vgS("registry", "rubygems"), vgS("rubygems_"),
			`rubygems_[0-9a-f]{48}`,
			vgS(":rubygems_api_key: rubygems_05c573e4e1195cddd816999a8d29e9ece76a040b671c9186"),
			vgS(":rubygems_api_key: rubygems_000000000000000000000000000000000000000000000000", "rubygems_28de3c3b2341180c33365ce8cff35748")),
		vgTok("nuget-api-key", "NuGet.org API key", vgHigh, vgS("registry", "nuget"), vgS("oy2"),
			`oy2[0-9a-z]{43}`,
			vgS("dotnet nuget push pkg.nupkg --api-key oy22gv7la48tqvfqn9spy7hw8psky5ao85hbst717d537m"),
			vgS("--api-key oy2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "oy25v8n1txt3v95r2qni24q")),
		vgTok("docker-hub-pat", "Docker Hub personal access token", vgHigh, vgS("registry", "docker"), vgS("dckr_pat_"),
			`dckr_pat_[0-9A-Za-z_\-]{27}`,
			vgS("echo dckr_pat_QgQNMHBmKJ7BuAGawnQBUK4PY2p | docker login -u ci --password-stdin"),
			vgS("DOCKER_PASSWORD=dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx", "dckr_pat_c5W9W9c6Ud")),
		vgTok("jfrog-api-key", "JFrog Artifactory API key", vgHigh, vgS("registry", "jfrog"), vgS("AKCp"),
			`AKCp[0-9A-Za-z]{69}`,
			vgS("ARTIFACTORY_API_KEY=AKCpLrinlXBq9WWPG71GvLCSLt73xGikruWvA8iqKWraSSj57U0B6q9OxGkiPO4zOTztHmZq1"),
			vgS("ARTIFACTORY_API_KEY=AKCpxxxxxxxx", "AKCpK2QqOHecTWlo1ERmxrSYaVd24KIgUCqCdJ7eQNHk")),
		vgTok("jfrog-identity-token", "JFrog Artifactory identity (reference) token", vgHigh, vgS("registry", "jfrog"), vgS("cmVmdGtu"),
			`cmVmdGtu[0-9A-Za-z]{56}`,
			vgS("ARTIFACTORY_TOKEN=cmVmdGtuOjAxOj1GYVYqaLGc1ceNLK127jEkLW7jbvn9jxg59a3GcF4xyd7lzCT3"),
			vgS("ARTIFACTORY_TOKEN=cmVmdGtu", "cmVmdGtua03hdDmfEDjr7e9drjlfupaMr4U60u")),

		// Infrastructure and observability
		vgTok("terraform-cloud-token", "Terraform Cloud / HCP Terraform API token", vgHigh, vgS("dev", "hashicorp", "terraform"), vgS(".atlasv1."),
			`[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_=\-]{60,70}`,
			vgS("credentials \"app.terraform.io\" { token = \"xKmV58aQbHyoys.atlasv1.kwOFzHqCTbG4AJiokbOqeSOM7M_UVk_WsKGgnk_ygD7HQEnt8hWI49MacYvjQFYdr5a\" }"),
			vgS("token = \"xxxxxxxxxxxxxx.atlasv1.xxxx\"", "ILBUrJKBwUHS2O.atlasv1.WR-ZGJTCC2BHyFdRIbdC8KU6xkm-Ju")),
		vgTok("vault-service-token", "HashiCorp Vault service token", vgHigh, vgS("dev", "hashicorp", "vault"), vgS("hvs."),
			`hvs\.[0-9A-Za-z_\-]{24,250}`,
			vgS("VAULT_TOKEN=hvs.q58oW6jfyFLrI_55JqAjXg3P", "VAULT_TOKEN=hvs.CAESI5RD1KYzwaAPUziM_c-vJRwujdxv7V_Zxj5LzWhYBpDMMsj1ZqVoogy0BP5DR0D-wxVP92LsdYKnJ7vRkRoryLqjZbD"),
			vgS("VAULT_TOKEN=hvs.xxxxxxxxxxxxxxxxxxxxxxxx", "hvs.OJKSfwGa23Cd")),
		vgTok("vault-batch-token", "HashiCorp Vault batch token", vgHigh, vgS("dev", "hashicorp", "vault"), vgS("hvb."),
			`hvb\.[0-9A-Za-z_\-]{100,400}`,
			vgS("VAULT_TOKEN=hvb.AAAAAQ-EWpI-Jte02yzPp_JpxIN4Wu_mW1XCBu3yW1n0ArtG8w6gv-TDXi-K5zAufaVjR74XtYhPN1cVI0O6o5nnKweqMfF6GVyxN6iKB86MFxREAyORxKmMJQpZebF4hD04251L"),
			vgS("VAULT_TOKEN=hvb.Gsiroo14hzcadvSI6dTjnEIQykCwkiYp18nBC_09", "hvb.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")),
		vgTok("doppler-token", "Doppler API token", vgHigh, vgS("dev", "doppler"), vgS("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."),
			`dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[0-9a-z_\-]{2,35}\.)?[0-9A-Za-z]{40,44}`,
			vgS("DOPPLER_TOKEN=dp.pt.ycrYl6tfqayt4qOfQUSUVxQpWP1qr2v4uxZlDYG1k3a", "DOPPLER_TOKEN=dp.st.prd.DJAB8tw0OHDmiHs0ftv5qq5hroRkizK1IaqYKYvGfuy"),
			vgS("DOPPLER_TOKEN=dp.pt.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "dp.pt.6sqlxngbnFPYKhr7E3BI")),
		vgTok("pulumi-access-token", "Pulumi access token", vgHigh, vgS("dev", "pulumi"), vgS("pul-"),
			`pul-[0-9a-f]{40}`,
			vgS("PULUMI_ACCESS_TOKEN=pul-aff1767f16430fb808bdcf7fdd7ff3097ebea0bb"),
			vgS("PULUMI_ACCESS_TOKEN=pul-0000000000000000000000000000000000000000", "pul-6aa9f4584608fa9efa84")),
		vgTok("grafana-cloud-token", "Grafana Cloud access policy token", vgHigh, vgS("observability", "grafana"), vgS("glc_"),
			`glc_[0-9A-Za-z+/]{32,400}={0,2}`,
			vgS("GRAFANA_CLOUD_TOKEN=glc_eyJvIjoiG8LOEZyPHs7F4DWl6+HWCpAw4p4g+LAXMiSCZHnbE8v+yj/wS6AgpmTEIwDdSnkHyTgnVmZ1RbIOddayZGE4beWAciuN232tMMFyJtrNM2fWxTep6Vfb1GqQ=="),
			vgS("GRAFANA_CLOUD_TOKEN=glc_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "glc_wXWVagugjBMt")),
		vgTok("grafana-service-account-token", "Grafana service account token", vgHigh, vgS("observability", "grafana"), vgS("glsa_"),
			`glsa_[0-9A-Za-z]{32}_[0-9a-f]{8}`,
			vgS("GRAFANA_TOKEN=glsa_EjySnfoO39x6pHGv4JpsLjnoGp5uxPLG_a1981ce1"),
			vgS("GRAFANA_TOKEN=glsa_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_00000000", "glsa_8KVQD15mLoqM3bZKj0cJ5B4iC9dlc3U4")),
		vgTok("newrelic-user-api-key", "New Relic user API key", vgHigh, vgS("observability", "newrelic"), vgS("NRAK-"),
			`NRAK-[0-9A-Z]{27}`,
			vgS("NEW_RELIC_API_KEY=NRAK-37AJMAMQW90YHX3PBHNELXDB683"),
			vgS("NEW_RELIC_API_KEY=NRAK-XXXXXXXXXXXXXXXXXXXXXXXXXXX", "NRAK-TBAKKYXL0OIW")),
		vgTok("newrelic-insert-key", "New Relic insert (ingest) key", vgHigh, vgS("observability", "newrelic"), vgS("NRII-"),
			`NRII-[0-9A-Za-z_\-]{32}`,
			vgS("NEW_RELIC_INSERT_KEY=NRII-aEZAiH0ekC87-CMvhGTDSqEBtjb75Q0p"),
			vgS("NEW_RELIC_INSERT_KEY=NRII-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "NRII-OEChn5PBzmJp")),
		vgCtx("datadog-api-key", "Datadog API key", vgHigh, vgS("observability", "datadog"), vgS("datadog", "dd_api_key", "dd-api-key"),
			`(?:datadog[\w.\-]{0,20}api[_.\-]?key|dd[_.\-]api[_.\-]key)`, `[0-9a-f]{32}`,
			vgS("DD_API_KEY=6f9f117b208e3eb9eb96f3105eb13a98", "datadog_api_key: \"1d40c18f89a9ae3db060b77b820b6280\""),
			vgS("DD_API_KEY=<DATADOG_API_KEY>", "DD_API_KEY=1fbacf790aa7656506b5f6f19756877a66ac9a64", "DD_API_KEY=00000000000000000000000000000000")),
		vgCtx("datadog-app-key", "Datadog application key", vgHigh, vgS("observability", "datadog"), vgS("datadog", "dd_app_key", "dd-application-key", "dd_application_key"),
			`(?:datadog[\w.\-]{0,20}app(?:lication)?[_.\-]?key|dd[_.\-]app(?:lication)?[_.\-]key)`, `[0-9a-f]{40}`,
			vgS("DD_APP_KEY=eeaca8aee235b477e2be76f14254a11a041c0be3"),
			vgS("DD_APP_KEY=<DATADOG_APP_KEY>", "DD_APP_KEY=f67c6204728e6a2c2fd29c6e660eb1f0")),
		vgTok("sentry-org-token", "Sentry organization auth token", vgHigh, vgS("observability", "sentry"), vgS("sntrys_"),
			`sntrys_eyJ[0-9A-Za-z+/=]{30,400}_[0-9A-Za-z+/]{43}`,
			vgS("SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiOjE3sn/CFgvHZminqNk5Ugkru8SLJKR2LeLmKPK2Mu3MpwQUS6sL/ZvnCOeE06ClDlHngcgS67u0fSMftDSIkrhjsyEB/KmD7PxSmw4nPOebisWxWj_iget4CpPYZgHvC9phgUpAasHqgI0bRlxn2FswAfbJzq"),
			vgS("SENTRY_AUTH_TOKEN=sntrys_YOUR_TOKEN_HERE", "sntrys_eyJmcBBw1QNUg")),
		vgTok("sentry-user-token", "Sentry user auth token", vgHigh, vgS("observability", "sentry"), vgS("sntryu_"),
			`sntryu_[0-9a-f]{64}`,
			vgS("SENTRY_AUTH_TOKEN=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"),
			vgS("SENTRY_AUTH_TOKEN=sntryu_0000000000000000000000000000000000000000000000000000000000000000", "sntryu_aa4968e4521dd53c91396b796fbd9325")),
		vgEnt(vgRule("sentry-dsn-secret", "Sentry DSN with a secret key", vgMed, vgS("observability", "sentry"), vgS("sentry", "ingest"),
			`https?://[0-9a-f]{32}:(?P<secret>[0-9a-f]{32})@[0-9A-Za-z.\-]{3,100}/[0-9]{1,12}`,
			vgS("SENTRY_DSN=https://120a9da37cba6f56019ee2d8833fd6fa:3afb1c73803dc8c0f256505820d9d530@o12345.ingest.sentry.io/4506"),
			vgS("SENTRY_DSN=https://f2b0248d1e0be83f810e190683962ee1@o12345.ingest.sentry.io/4506", "https://public:secret@sentry.example.com/1")), 3.0),

		// Commerce and SaaS
		vgTok("shopify-access-token", "Shopify Admin API access token", vgHigh, vgS("saas", "shopify"), vgS("shpat_"),
			`shpat_[0-9a-fA-F]{32}`,
			vgS("SHOPIFY_ACCESS_TOKEN=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"),
			vgS("SHOPIFY_ACCESS_TOKEN=shpat_00000000000000000000000000000000", "shpat_5c8bcd8ac5e76e014153")),
		vgTok("shopify-shared-secret", "Shopify app shared secret", vgHigh, vgS("saas", "shopify"), vgS("shpss_"),
			`shpss_[0-9a-fA-F]{32}`,
			vgS("SHOPIFY_API_SECRET=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"),
			vgS("SHOPIFY_API_SECRET=shpss_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "shpss_3d4f4cd5e27a5ba1")),
		vgTok("shopify-custom-app-token", "Shopify custom app access token", vgHigh, vgS("saas", "shopify"), vgS("shpca_"),
			`shpca_[0-9a-fA-F]{32}`,
			vgS("token: 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"),
			vgS("token: shpca_00000000000000000000000000000000", "shpca_e22d2f2d8c5f46dbeab93eb48ad4297")),
		vgTok("shopify-private-app-token", "Shopify private app password", vgHigh, vgS("saas", "shopify"), vgS("shppa_"),
			`shppa_[0-9a-fA-F]{32}`,
			vgS("SHOPIFY_PASSWORD=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"),
			vgS("SHOPIFY_PASSWORD=shppa_00000000000000000000000000000000", "shppa_ea9a9ac28a45")),

		// AI platforms
		vgTok("openai-api-key", "OpenAI API key (legacy user key)", vgHigh, vgS("ai", "openai"), vgS("T3BlbkFJ"),
			`sk-[0-9A-Za-z]{20}T3BlbkFJ[0-9A-Za-z]{20}`,
			vgS("OPENAI_API_KEY=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"),
			vgS("OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxx", "sk-gVvZaQyusST3BlbkFJ2hTayNersN8eOqZepXEy")),
		vgTok("openai-project-key", "OpenAI project, service account or admin key", vgHigh, vgS("ai", "openai"), vgS("sk-proj-", "sk-svcacct-", "sk-admin-"),
			`sk-(?:proj|svcacct|admin)-[0-9A-Za-z_\-]{40,250}`,
			vgS("OPENAI_API_KEY=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"),
			vgS("OPENAI_API_KEY=sk-proj-...", "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")),
		vgTok("anthropic-api-key", "Anthropic API or admin key", vgHigh, vgS("ai", "anthropic"), vgS("sk-ant-"),
			`sk-ant-(?:api03|admin01)-[0-9A-Za-z_\-]{80,100}AA`,
			vgS("ANTHROPIC_API_KEY=sk-ant-api03-YHW5C1PxpVUG2b77SOtA98SXeh1PlpGvRTjxqkFT1YWKBZAakkTqh2_YWFEbg1tra62ybjkw3zlK1hYQDJkqFqxUNEwtqAA"),
			vgS("ANTHROPIC_API_KEY=sk-ant-api03-...", "sk-ant-api03-z2HHO61eR_4Cm-XEWmSYAA")),
		vgTok("huggingface-token", "Hugging Face access token", vgHigh, vgS("ai", "huggingface"), vgS("hf_"),
			`hf_[0-9A-Za-z]{34}`,
			vgS("HF_TOKEN=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"),
			vgS("HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "hf_iTKbgdKtYsSOZCPTiZmR", "hf_hub_download_cache")),

		// Productivity SaaS
		vgEnt(vgRule("notion-integration-token", "Notion internal integration token (legacy secret_ form)", vgHigh, vgS("saas", "notion"), vgS("notion"),
			vgL+`(?P<secret>secret_[0-9A-Za-z]{43})`+vgR,
			vgS("NOTION_TOKEN=secret_GrIODwkrzoUkK3RPynWXZayBBdi6qqQG22z1kHSHJwa"),
			vgS("NOTION_TOKEN=secret_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "NOTION_TOKEN=secret_Wc7yKvRHGmgMflEFx9D4")), 3.0),
		vgTok("notion-api-token", "Notion API token", vgHigh, vgS("saas", "notion"), vgS("ntn_"),
			`ntn_[0-9]{11}[0-9A-Za-z]{35}`,
			vgS("NOTION_TOKEN=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"),
			vgS("NOTION_TOKEN=ntn_00000000000xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ntn_18870699398")),
		vgTok("linear-api-key", "Linear API key", vgHigh, vgS("saas", "linear"), vgS("lin_api_"),
			`lin_api_[0-9A-Za-z]{40}`,
			vgS("LINEAR_API_KEY=lin_api_b1vbzhPM94E6RJgvWEphC4taNlA5oDOdxuaroVlx"),
			vgS("LINEAR_API_KEY=lin_api_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "lin_api_UGncn5dm1LgNvvmilH22")),
		vgTok("airtable-pat", "Airtable personal access token", vgHigh, vgS("saas", "airtable"), vgS("pat"),
			`pat[0-9A-Za-z]{14}\.[0-9a-f]{64}`,
			vgS("AIRTABLE_TOKEN=patWM1NyhCFtooZzd.596f75a2c347bc84605271e4a88d560436752d3f23933e66c67b56f4259752b4"),
			vgS("AIRTABLE_TOKEN=patXXXXXXXXXXXXXX.0000000000000000000000000000000000000000000000000000000000000000", "patBMhJyI0E2zmaA6.86eae8e7152779557c2eeb1459593063")),
		vgEnt(vgRule("asana-pat", "Asana personal access token", vgHigh, vgS("saas", "asana"), vgS("asana"),
			vgL+`(?P<secret>[0-9]/[0-9]{10,20}(?:/[0-9]{10,20})?:[0-9a-f]{32})`+vgR,
			vgS("ASANA_TOKEN=2/0481570277865540/8166673020144035:105233f8b93bb7c062c50bd03592b25b"),
			vgS("ASANA_TOKEN=0/00000000000000:00000000000000000000000000000000", "ASANA_TOKEN=2/3683722253518197:c814711e995ce910")), 3.0),
		vgTok("figma-pat", "Figma personal access token", vgHigh, vgS("saas", "figma"), vgS("figd_"),
			`figd_[0-9A-Za-z_\-]{40}`,
			vgS("FIGMA_TOKEN=figd_aZUTwAylOVZqvE0Zx8Iyps5wXP1WmzoaHAaJja9S"),
			vgS("FIGMA_TOKEN=figd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "figd_uVnw8bXloGPwQ8z0iNLI")),
		vgTok("postman-api-key", "Postman API key", vgHigh, vgS("dev", "postman"), vgS("PMAK-"),
			`PMAK-[0-9a-f]{24}-[0-9a-f]{34}`,
			vgS("POSTMAN_API_KEY=PMAK-2b0b271053e8463dd8105ea4-f54e8112e84f4a8086207b9b754b9e3a06"),
			vgS("POSTMAN_API_KEY=PMAK-000000000000000000000000-0000000000000000000000000000000000", "PMAK-bd2b267197ebbe794a8863ce")),
		vgTok("sonarqube-token", "SonarQube/SonarCloud token", vgHigh, vgS("dev", "sonarqube", "ci"), vgS("squ_", "sqp_", "sqa_"),
			`sq[upa]_[0-9a-f]{40}`,
			vgS("sonar.token=squ_ac9aec04a0620c3d82b3cbc289bf71283e793553", "SONAR_TOKEN=sqp_0679f6cba6fee1138ba7577b8695354a40bf519a"),
			vgS("SONAR_TOKEN=squ_0000000000000000000000000000000000000000", "squ_d2d8f269bf043359627d")),
		vgTok("circleci-pat", "CircleCI personal API token", vgHigh, vgS("dev", "circleci", "ci"), vgS("CCIPAT_"),
			`CCIPAT_[0-9A-Za-z]{22}_[0-9a-f]{40}`,
			vgS("CIRCLE_TOKEN=CCIPAT_QoUe5qkd8Ahtl0P8WnEZze_5f8b465dcfbd091d4bf69fb96cce5a7446002770"),
			vgS("CIRCLE_TOKEN=CCIPAT_xxxxxxxxxxxxxxxxxxxxxx_0000000000000000000000000000000000000000", "CCIPAT_bg0We4e3gjFQ8MUscDjp3u")),
		vgCtx("circleci-token", "CircleCI API token (legacy)", vgHigh, vgS("dev", "circleci", "ci"), vgS("circle"),
			`circle(?:ci)?[_.\-]?(?:api[_.\-]?)?token`, `[0-9a-f]{40}`,
			vgS("CIRCLE_TOKEN=ab23c17615626d8c29b6093bbcf71bf203543b5d"),
			vgS("CIRCLE_TOKEN=$CIRCLE_API", "CIRCLE_TOKEN=358612a25c41367a7c86d08e105de40d")),
		vgCtx("travis-token", "Travis CI API token", vgHigh, vgS("dev", "travis", "ci"), vgS("travis"),
			`travis[\w.\-]{0,20}(?:token|key)`, `[0-9A-Za-z_\-]{22}`,
			vgS("TRAVIS_API_TOKEN=dqVuxbfTlky8u8XZzjDzcu"),
			vgS("TRAVIS_API_TOKEN=${TRAVIS_TOKEN_VALUE}", "TRAVIS_API_TOKEN=OuoXLDdpcJwU")),
		vgTok("buildkite-token", "Buildkite user access token", vgHigh, vgS("dev", "buildkite", "ci"), vgS("bkua_"),
			`bkua_[0-9a-f]{40}`,
			vgS("BUILDKITE_API_TOKEN=bkua_d9bb4aa0dfc16c3fc2c176d48ee97ab5ccaeba31"),
			vgS("BUILDKITE_API_TOKEN=bkua_0000000000000000000000000000000000000000", "bkua_b0a70ed8c153")),

		// Identity
		vgCtx("okta-api-token", "Okta API token", vgHigh, vgS("identity", "okta"), vgS("okta"),
			`okta[\w.\-]{0,20}(?:token|key|ssws)`, `00[0-9A-Za-z_\-]{40}`,
			vgS("OKTA_API_TOKEN=00v2CQSqt06hj_djmKmvgBn5rIDbydadPOP0YJ3_bK", `oktaApiToken = "00-KDnEKqmOJoBby0MODbM8XaWMSlWr2yU33eM1tyQ"`),
			vgS("OKTA_API_TOKEN={apiToken}", "OKTA_API_TOKEN=00eVgOp6Kcsar80p7XAsQf")),
		vgCtx("auth0-client-secret", "Auth0 application client secret", vgHigh, vgS("identity", "auth0"), vgS("auth0"),
			`auth0[\w.\-]{0,20}(?:client[_.\-]?)?secret`, `[0-9A-Za-z_\-]{64}`,
			vgS("AUTH0_CLIENT_SECRET=c_2yQEesqc6_YbEF_CQ4ZFth1HCGMTxl_1nT-pvOsY3ZV34qozkNwWh8LcUaslNf"),
			vgS("AUTH0_CLIENT_SECRET=YOUR_AUTH0_CLIENT_SECRET", "AUTH0_CLIENT_SECRET=tzDySP6_q3j4nFUtHx8Y_PAsMpkWdPTf")),
		vgCtx("twitch-client-secret", "Twitch API client secret or OAuth token", vgHigh, vgS("saas", "twitch"), vgS("twitch"),
			`twitch[\w.\-]{0,20}(?:secret|token)`, `(?:oauth:)?[0-9a-z]{30}`,
			vgS("TWITCH_CLIENT_SECRET=ovhuh8wzwhe1xc9rsuds9ew0rr6xwv", "twitch_token: oauth:ihm9ktbf5bqfy5c1wtfmmcdbk6v0is"),
			vgS("TWITCH_CLIENT_SECRET=your_client_secret_goes_here", "TWITCH_CLIENT_SECRET=754bqylj8muqk7q7x426")),
		vgEnt(vgRule("facebook-access-token", "Facebook (Meta) Graph API access token", vgHigh, vgS("saas", "facebook"), vgS("facebook", "fb_", "graph.", "meta_"),
			vgL+`(?P<secret>EAA[0-9A-Za-z]{90,300})`+vgR,
			vgS("FB_ACCESS_TOKEN=EAAGw0f3hxr7YWlPSszm17DspLRtWwmHqXU6xDzdGhtEtpLjXZMHy1F49czb2fPaWH25FyYCk1GBAM2o1Ez7fq2R2QAuAtSliQNAImJPtWbJLbF9NsDL9oHB1cipt8AaWhP66TCyskicnBrlTsMrCFHvPhD9YliVBFzb"),
			vgS("FB_ACCESS_TOKEN=EAAG...", "FB_ACCESS_TOKEN=EAAGZz4e0tKklI6udu36LUqO2rKRNfdfXaEptu5U0A1E")), 3.5),
		vgCtx("facebook-app-secret", "Facebook (Meta) app secret", vgHigh, vgS("saas", "facebook"), vgS("facebook", "fb_app", "fb-app"),
			`(?:facebook|fb)[\w.\-]{0,20}secret`, `[0-9a-f]{32}`,
			vgS("FACEBOOK_APP_SECRET=98611fe6a78113b5612648b810510d75"),
			vgS("FACEBOOK_APP_SECRET=<app secret>", "FACEBOOK_APP_SECRET=434ae4040dacd201")),
		vgTok("twitter-bearer-token", "Twitter (X) app bearer token", vgHigh, vgS("saas", "twitter"), vgS("AAAAAAAAAAAAAAAAAAAAA"),
			`AAAAAAAAAAAAAAAAAAAAA[0-9A-Za-z%]{60,130}`,
			vgS("TWITTER_BEARER_TOKEN=AAAAAAAAAAAAAAAAAAAAA7kCH0vNouU%3DetItXzZLv9f6Dlbh7DB0K0NvBUwQLGNujbbLEnahcPgiFbsDoe"),
			vgS("TWITTER_BEARER_TOKEN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAdDdFQAE8YwyHSk9RRil3")),
		vgTok("mapbox-secret-token", "Mapbox secret access token", vgHigh, vgS("saas", "mapbox"), vgS("sk.eyJ"),
			`sk\.eyJ[0-9A-Za-z_\-]{50,120}\.[0-9A-Za-z_\-]{20,30}`,
			vgS("MAPBOX_SECRET=sk.eyJ1IjoiJMEnOzsPKT_NIc75CVI91nnhYoXqxq3MGPRg6P3HP04Dy7VPsfQIOs-MiO1I.VtZuVd7K07pvBPHwuNe-ss"),
			vgS("MAPBOX_SECRET=pk.eyJ1IjoiO2brxmwYf8CXQv2UPzgmvllV7E690IOhdJIFMVEz2FxF73RMX3MiS-l_xgJp.641AHGtaPmfeqMc_S7UyCS", "sk.eyJBNIdBqa9P5a4tn_zp4jG")),
		vgCtx("algolia-admin-key", "Algolia admin API key", vgHigh, vgS("saas", "algolia"), vgS("algolia"),
			`algolia[\w.\-]{0,20}(?:admin|write|secret)[\w.\-]{0,10}key`, `[0-9a-f]{32}`,
			vgS("ALGOLIA_ADMIN_API_KEY=736991e154961937f947f33bad732347"),
			vgS("ALGOLIA_SEARCH_KEY=a2535395cf90d1fc7f6745a16b0fdb9d", "ALGOLIA_ADMIN_API_KEY=31f25ce522143f182930")),
		vgTok("contentful-pat", "Contentful personal access token", vgHigh, vgS("saas", "contentful"), vgS("CFPAT-"),
			`CFPAT-[0-9A-Za-z_\-]{43}`,
			vgS("CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-AwAULYAFRdP3DYrtz4Eaa2Z80m-zJFCARzMGskwPGpS"),
			vgS("CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "CFPAT-VZGh1TJljqqgWdIpioV-")),
		vgCtx("contentful-delivery-token", "Contentful delivery/preview API token", vgMed, vgS("saas", "contentful"), vgS("contentful"),
			`contentful[\w.\-]{0,20}(?:token|key)`, `[0-9A-Za-z_\-]{43}`,
			vgS("CONTENTFUL_DELIVERY_TOKEN=V_FNdFw_ugTQJKyLSoeVyCJDvpysBn489L-oO70wWH5"),
			vgS("CONTENTFUL_DELIVERY_TOKEN=<delivery token>", "CONTENTFUL_DELIVERY_TOKEN=PDMxdITXUo1gTJxgGcZl")),
		vgCtx("intercom-access-token", "Intercom access token", vgHigh, vgS("saas", "intercom"), vgS("intercom"),
			`intercom[\w.\-]{0,20}(?:token|key|secret)`, `[0-9A-Za-z_=\-]{59,70}`,
			vgS("INTERCOM_ACCESS_TOKEN=dG9rOjhmPuyHXLEWcKZzJut4wcWkwbmgi4cvfz_mWZxoEtr5Zq2PNW-YDJw0="),
			vgS("INTERCOM_ACCESS_TOKEN=<token>", "INTERCOM_ACCESS_TOKEN=dG9rOjFQuQRzqnFj99WA6qZEQ-")),
		vgCtx("zendesk-api-token", "Zendesk API token", vgHigh, vgS("saas", "zendesk"), vgS("zendesk"),
			`zendesk[\w.\-]{0,20}(?:token|key)`, `[0-9A-Za-z]{40}`,
			vgS("ZENDESK_API_TOKEN=SfZhfxvuIhZ2f3YEwRIkDmH8yK9s86PiyE4imiIw"),
			vgS("ZENDESK_API_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ZENDESK_API_TOKEN=keOThQ4QEDjfTAZy3HtQv9dd")),
		vgTok("hubspot-pat", "HubSpot private app access token", vgHigh, vgS("saas", "hubspot"), vgS("pat-na1-", "pat-na2-", "pat-eu1-", "pat-ap1-"),
			`pat-(?:na1|na2|eu1|ap1)-`+vgUUID,
			vgS("HUBSPOT_TOKEN=pat-na1-8d673df7-cf8f-4f7b-ae95-c57a77dce5c9"),
			vgS("HUBSPOT_TOKEN=pat-na1-00000000-0000-0000-0000-000000000000", "pat-na1-1adc8ce1")),
		vgEnt(vgRule("dropbox-access-token", "Dropbox short-lived access token", vgHigh, vgS("saas", "dropbox"), vgS("dropbox"),
			vgL+`(?P<secret>sl\.(?:u\.)?[0-9A-Za-z_\-]{130,1000})`+vgRd,
			vgS("DROPBOX_TOKEN=sl.u.1A9YljMjrtrFFSM_3noHs0GKLc8Dry8czPrkF7bZnCkbCJ_u0xgObXI3-oyFYoEuxBNwhOBd2oXf6_ihsBiUUTfWMVseqyrYESe69XXrgQT1j-wkUoNWerYsb-_1IVuTwym5IoEm36V6"),
			vgS("DROPBOX_TOKEN=sl.xxxx", "DROPBOX_TOKEN=sl.VJGU3womhTXgadBkUywmA83WxoAgfYhPZm47EMTBa-sCTNk1m7iI5755t3Fc")), 3.5),
		vgTok("age-secret-key", "age encryption secret key", vgCrit, vgS("key", "age"), vgS("AGE-SECRET-KEY-1"),
			`AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`,
			vgS("# created: 2024-05-01\nAGE-SECRET-KEY-16Q675KRFTAAAWV0J8C2SFDEVE7A25Z5M6XFSE29G5DTY6M8TMYUF3ZJWU7"),
			vgS("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "AGE-SECRET-KEY-16EQN732784JTLNT83L2ESA9W8E40DL")),
	}
}
