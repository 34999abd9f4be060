package zone

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Load reads the master file at path for the zone origin. $INCLUDE is allowed, relative to
// the including file. Every problem is reported as "file:line: message" in a zone.Errors.
func Load(origin, path string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	defer f.Close()
	return Parse(origin, f, path)
}

// Parse reads a master file from r; filename names it in errors and anchors relative
// $INCLUDEs. With an empty filename $INCLUDE is refused (r is then untrusted text).
func Parse(origin string, r io.Reader, filename string) (*Zone, error) {
	if _, ok := dns.IsDomainName(origin); !ok || origin == "" {
		return nil, Errors{{File: filename, Msg: "invalid zone name " + strconv.Quote(origin)}}
	}
	t := &tracker{}
	top := t.wrap(r, filename)
	var zp *dns.ZoneParser
	if filename == "" {
		zp = dns.NewZoneParser(top, dns.Fqdn(origin), "")
	} else {
		abs, err := filepath.Abs(filename)
		if err != nil {
			return nil, Errors{{File: filename, Msg: err.Error()}}
		}
		// The parser joins $INCLUDE paths to the directory of its file name and hands them,
		// without the leading slash, to includeFS; an absolute name makes that unambiguous.
		zp = dns.NewZoneParser(top, dns.Fqdn(origin), abs)
		t.dir, t.userDir = filepath.Dir(abs), filepath.Dir(filename)
		zp.SetIncludeAllowed(true)
		zp.SetIncludeFS(includeFS{t})
	}
	var rrs []dns.RR
	var positions []pos
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		cur := t.cur
		rrs = append(rrs, rr)
		positions = append(positions, pos{file: cur.name, line: cur.start})
		cur.state = waiting
	}
	if err := zp.Err(); err != nil {
		return nil, Errors{t.parseError(err, filename)}
	}
	return build(origin, rrs, positions, filename, nil)
}

// tracker follows which file the parser reads and the line each record starts on:
// miekg/dns does not expose record positions, but it reads its input byte by byte from an
// io.ByteReader and stops at the newline that ends a record.
type tracker struct {
	cur          *lineReader
	dir, userDir string            // absolute and as-given directory of the top file
	names        map[string]string // FS path → name shown in errors
}

type readState uint8

const (
	waiting  readState = iota // between records
	comment                   // in a comment or a $ directive line, before a record
	inRecord                  // the record has started at start
)

type lineReader struct {
	t     *tracker
	br    *bufio.Reader
	c     io.Closer
	name  string
	line  int // line of the next byte
	start int // line the current record started on
	state readState
}

func (t *tracker) wrap(r io.Reader, name string) *lineReader {
	lr := &lineReader{t: t, br: bufio.NewReader(r), name: name, line: 1}
	if c, ok := r.(io.Closer); ok {
		lr.c = c
	}
	t.cur = lr
	return lr
}

func (lr *lineReader) ReadByte() (byte, error) {
	c, err := lr.br.ReadByte()
	if err != nil {
		return c, err
	}
	lr.t.cur = lr
	switch {
	case c == '\n':
		lr.line++
		if lr.state == comment {
			lr.state = waiting
		}
	case lr.state != waiting:
	case c == ';' || c == '$':
		lr.state = comment
	case c != ' ' && c != '\t' && c != '\r' && c != '(' && c != ')':
		lr.state, lr.start = inRecord, lr.line
	}
	return c, nil
}

func (lr *lineReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := lr.ReadByte()
		if err != nil {
			if n > 0 && err == io.EOF {
				return n, nil
			}
			return n, err
		}
		p[n] = c
		n++
	}
	return n, nil
}

func (lr *lineReader) Close() error {
	if lr.c != nil {
		return lr.c.Close()
	}
	return nil
}

func (lr *lineReader) Stat() (fs.FileInfo, error) {
	return nil, errors.New("stat not supported")
}

// includeFS opens $INCLUDE files for the parser through a lineReader.
type includeFS struct{ t *tracker }

func (f includeFS) Open(name string) (fs.File, error) {
	real := "/" + name
	file, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	shown := real
	if rel, err := filepath.Rel(f.t.dir, real); err == nil && !strings.HasPrefix(rel, "..") {
		shown = filepath.Join(f.t.userDir, rel)
	}
	if f.t.names == nil {
		f.t.names = map[string]string{}
	}
	f.t.names[name] = shown
	return f.t.wrap(file, shown), nil
}

var parseErrRE = regexp.MustCompile(`(?s)^(?:(.*?): )?dns: (.*) at line: (\d+):\d+$`)

// parseError turns a miekg/dns ParseError into file:line: message.
func (t *tracker) parseError(err error, top string) Error {
	m := parseErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return Error{File: top, Msg: err.Error()}
	}
	file := top
	if shown, ok := t.names[m[1]]; ok {
		file = shown // an included file, under the name its includer gave
	}
	line, _ := strconv.Atoi(m[3])
	msg := m[2]
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		// A missing $INCLUDE file: keep the message free of the parser's internal path.
		msg = "$INCLUDE: " + filepath.Base(pe.Path) + ": " + pe.Err.Error()
	}
	return Error{File: file, Line: line, Msg: msg}
}
