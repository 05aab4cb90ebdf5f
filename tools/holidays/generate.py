#!/usr/bin/env python3
"""Generate crates/dangan-domain/data/holidays-cn.tsv from the PyPI package `chinesecalendar`.

The package is only read, never installed into the project: pass the downloaded wheel
(a pure-Python zip that Python can import directly) with --wheel, or have the package
importable already (e.g. in a throw-away virtualenv) and omit --wheel.

    pip download chinesecalendar==1.11.0 --no-deps -d /tmp/cc
    python3 tools/holidays/generate.py \
        --wheel /tmp/cc/chinesecalendar-1.11.0-py2.py3-none-any.whl \
        --years 2015-2026 > crates/dangan-domain/data/holidays-cn.tsv

Output: one line per special day, `date<TAB>kind<TAB>name`, where kind is `holiday`
(an official day off, including weekend days the package lists inside a holiday block)
or `workday` (a Saturday/Sunday that is a make-up working day, 调休上班). Comment lines
start with `#`; the line `# years: A-B` declares the whole years the file covers.
"""

import argparse
import datetime
import hashlib
import os
import sys

# The package's English holiday keys -> the Chinese names used in our data file.
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}

# Findings of the cross-check against the Rust crate `chinese_holiday` 2026.0.1
# (see the test in crates/dangan-domain/src/calendar.rs). Kept here so that a
# regenerated file keeps them.
NOTES = """\
# Cross-check against the Rust crate chinese_holiday 2026.0.1 (data 2004-01-01..2026-12-25):
# the two sources agree on the working/non-working status of every date from 2015-01-01 to
# 2026-12-25 except two, where this file follows chinesecalendar because the State Council
# notice text (quoted in the crate's own source comments) supports it:
#   2016-10-09 (Sunday): 《关于2016年部分节假日安排的通知》(gov.cn/zhengce/content/2015-12/10/
#     content_10394.htm), 国庆节: "10月1日至7日放假调休，共7天。10月8日（星期六）、
#     10月9日（星期日）上班" -> make-up working day. The crate lists
#     10-08 only and so treats 10-09 as an ordinary Sunday off (missing entry in the crate).
#   2016-12-30 (Friday): 《关于2017年部分节假日安排的通知》(gov.cn/zhengce/content/2016-12/01/
#     content_5141603.htm), 元旦: "1月1日放假，1月2日（星期一）补休"
#     -> 2016-12-30 is an ordinary working day. The crate lists it as a New Year holiday
#     (evidently a typo for 2016-12-31, a Saturday that is off anyway).
# Note 2020: 2020-01-31..02-02 are holidays and 2020-02-01 (Saturday) is NOT a working day,
# per 《关于延长2020年春节假期的通知》 (COVID-19), which amended the 2020 notice.
# Caveat: the last days of a year can be changed by the NEXT year's notice (e.g. the 2019
# notice made 2018-12-29 a working day and 2018-12-30/31 holidays). The 2027 notice had not
# been read when this file was generated, so 2026-12-26..31 follow the ordinary weekday rule;
# re-check them when that notice is published (see tools/holidays/README.md).
"""


def parse_years(text):
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
    else:
        first = last = int(text)
    if first > last:
        raise SystemExit("--years: first year after last year: " + text)
    return first, last


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", help="path to the chinesecalendar wheel (.whl) to import from")
    parser.add_argument("--years", default="2015-2026", help="whole years to emit, e.g. 2015-2026")
    args = parser.parse_args()

    source = "an importable chinese_calendar module"
    if args.wheel:
        sys.path.insert(0, os.path.abspath(args.wheel))
        with open(args.wheel, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        source = "%s (sha256 %s)" % (os.path.basename(args.wheel), digest)

    import chinese_calendar  # noqa: E402  (imported after sys.path is set)
    from chinese_calendar.constants import holidays, workdays

    first, last = parse_years(args.years)
    covered = {d.year for d in holidays}
    missing = [y for y in range(first, last + 1) if y not in covered]
    if missing:
        raise SystemExit(
            "chinesecalendar %s has no data for %s; upgrade it or add those years by hand"
            % (chinese_calendar.__version__, missing)
        )

    rows = []
    for table, kind in ((holidays, "holiday"), (workdays, "workday")):
        for date, english in table.items():
            if not first <= date.year <= last:
                continue
            if english not in NAMES:
                raise SystemExit("unknown holiday %r on %s: add it to NAMES" % (english, date))
            if kind == "workday" and date.weekday() < 5:
                raise SystemExit("make-up working day %s is not a Saturday/Sunday" % date)
            rows.append((date, kind, NAMES[english]))
    rows.sort()
    dates = [row[0] for row in rows]
    if len(dates) != len(set(dates)):
        raise SystemExit("a date is listed as both holiday and workday")

    out = sys.stdout
    out.write("# 法定节假日与调休上班日（国务院办公厅《关于YYYY年部分节假日安排的通知》）\n")
    out.write("# Generated by tools/holidays/generate.py from the PyPI package chinesecalendar %s,\n"
              % chinese_calendar.__version__)
    out.write("# chinese_calendar/constants.py, read from %s, on %s.\n"
              % (source, datetime.date.today().isoformat()))
    out.write("# Format: date<TAB>kind<TAB>name. kind: holiday = official day off (weekend days inside a\n")
    out.write("# holiday block may be listed too); workday = a Saturday/Sunday that is a make-up working day\n")
    out.write("# (调休上班). Dates not listed: Monday-Friday working, Saturday/Sunday off.\n")
    out.write(NOTES)
    out.write("# years: %d-%d\n" % (first, last))
    for date, kind, name in rows:
        out.write("%s\t%s\t%s\n" % (date.isoformat(), kind, name))


if __name__ == "__main__":
    main()
