// Package docker reads Dockerfiles (Containerfiles) and Docker Compose files
// into iac.Resources for `vigil scan config` and the policy engine.
//
// A Dockerfile is one resource of type "Dockerfile" whose Attrs describe its
// instructions, its build stages and the effective settings of the final
// stage (user, env, healthcheck, exposed ports). A compose file yields one
// resource of type "service" per service, whose Attrs are the service map
// as written. The Attrs shapes are a contract with rule authors and are
// documented on NewDockerfile and NewCompose.
//
// The package imports iac and the buildkit Dockerfile parser (parser and
// shell only); only the config scanner (iac loaders' registry) should import
// it. Nothing here logs; files that cannot be read come back as
// iac.FileErrors.
package docker
