package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/lbdns/lbdns/pkg/model"
)

var oneLine = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`)

// FormatProblems writes one line per problem, for `lbdns check` (CONTRACT §1, ruling 41):
//
//	config.yaml:12: pools[0].origins[1].weight: 2.5 is outside 0..1
//	warning: config.yaml:20: pools[1].minimum_origins: 3 is more than the 2 enabled origins…
//
// file is the name to print (as the user gave it); the line is left out when unknown.
func FormatProblems(w io.Writer, file string, ps model.Problems) {
	for _, p := range ps {
		prefix := ""
		if p.Warning {
			prefix = "warning: "
		}
		loc := file
		if p.Line > 0 {
			loc += ":" + strconv.Itoa(p.Line)
		}
		if loc != "" {
			loc += ": "
		}
		// One line per problem (ruling 41), whatever a name or message holds.
		fmt.Fprintf(w, "%s%s%s\n", prefix, loc, oneLine.Replace(p.String()))
	}
}
