package steer

import "github.com/lbdns/lbdns/pkg/rules"

// The glue between steer and pkg/rules (ruling 18).

// fields are the values a rule condition reads.
type fields = rules.Fields

// condition is a compiled rule condition; nil never matches (a condition that failed to
// compile, reported by Compile).
type condition = *rules.Expr

func compileCondition(s string) (condition, error) { return rules.Compile(s) }

func condUses(c condition) rules.Uses {
	if c == nil {
		return 0
	}
	return c.Uses()
}

func condEval(c condition, f *fields) bool { return c != nil && c.Eval(f) }
