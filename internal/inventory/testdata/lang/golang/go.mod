module example.com/vigil/demo

go 1.21

require (
	github.com/gin-gonic/gin v1.7.0
	golang.org/x/text v0.3.7
)

require (
	golang.org/x/net v0.0.0-20211112202133-69e39bad7dc2 // indirect
	gopkg.in/yaml.v2 v2.2.8 // indirect
)

replace gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0

exclude golang.org/x/text v0.3.6
