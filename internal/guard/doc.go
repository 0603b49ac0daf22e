// Package guard is runtime protection wired together: it runs the sensor
// (internal/sensor), judges every event against the rules
// (internal/detect: the built-in library with an optional directory laid
// over it and reloaded when it changes), carries out the action a rule
// names through the responder (internal/respond) according to the
// response mode — off, dry-run or on — and hands each alert, with the
// record of what was done, to its sinks: a rotated JSON-lines log and
// whatever the caller adds (the agent's stream to the server).
//
// The same rule firing on the same process is reported once per
// ten-second window; the repeats are counted, not sent.
//
// The agent (internal/agent) and its command import this package. It
// imports the sensor, detect and respond packages of Vigil and nothing
// that talks to the server. It does not log: failures of sinks, rule
// reloads and actions are counted in Stats and carried in the alerts.
package guard
