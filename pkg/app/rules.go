package app

import (
	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/rules"
)

// Rule conditions are validated by compiling them with pkg/rules, for the config file and the
// API alike (pkg/model cannot import pkg/rules: it sits below it).
func init() {
	model.RuleChecker = func(cond string) error {
		_, err := rules.Compile(cond)
		return err
	}
}
