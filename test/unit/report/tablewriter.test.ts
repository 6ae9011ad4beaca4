import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  looksNumeric,
  padCenter,
  renderTable,
  titleCase,
  wrapString,
  wrapWords,
} from "../../../src/report/tablewriter.ts";
import { displayWidth, stringWidth } from "../../../src/report/width.ts";

const lines = (...ls: string[]): string => `${ls.join("\n")}\n`;

describe("renderTable reproduces the iter8ctl golden tables", () => {
  it("experiment8 objective table", () => {
    const out = renderTable(
      ["Objective", "default", "canary"],
      [
        ["mean-latency <= 1000.000", "true", "true"],
        ["error-rate <= 0.010", "true", "true"],
      ],
    );
    assert.equal(
      out,
      lines(
        "+--------------------------+---------+--------+",
        "|        OBJECTIVE         | DEFAULT | CANARY |",
        "+--------------------------+---------+--------+",
        "| mean-latency <= 1000.000 | true    | true   |",
        "+--------------------------+---------+--------+",
        "| error-rate <= 0.010      | true    | true   |",
        "+--------------------------+---------+--------+",
      ),
    );
  });

  it("experiment8 metrics table: wrap at 30, column stays 30 wide, numbers right-aligned", () => {
    const out = renderTable(
      ["Metric", "default", "canary"],
      [
        ["95th-percentile-tail-latency (milliseconds)", "330.682", "310.320"],
        ["mean-latency (milliseconds)", "228.420", "229.002"],
        ["error-rate", "0.000", "0.000"],
        ["request-count", "117.445", "57.715"],
      ],
    );
    assert.equal(
      out,
      lines(
        "+--------------------------------+---------+---------+",
        "|             METRIC             | DEFAULT | CANARY  |",
        "+--------------------------------+---------+---------+",
        "| 95th-percentile-tail-latency   | 330.682 | 310.320 |",
        "| (milliseconds)                 |         |         |",
        "+--------------------------------+---------+---------+",
        "| mean-latency (milliseconds)    | 228.420 | 229.002 |",
        "+--------------------------------+---------+---------+",
        "| error-rate                     |   0.000 |   0.000 |",
        "+--------------------------------+---------+---------+",
        "| request-count                  | 117.445 |  57.715 |",
        "+--------------------------------+---------+---------+",
      ),
    );
  });

  it("experiment12 reward table: starred value is text, left-aligned", () => {
    const out = renderTable(["Reward", "A", "B"], [["books-purchased (higher better)", "5.030", "24.454 *"]]);
    assert.equal(
      out,
      lines(
        "+--------------------------------+-------+----------+",
        "|             REWARD             |   A   |    B     |",
        "+--------------------------------+-------+----------+",
        "| books-purchased (higher        | 5.030 | 24.454 * |",
        "| better)                        |       |          |",
        "+--------------------------------+-------+----------+",
      ),
    );
  });

  it("seed 004 objective table: a wrapped `<= 100.000` continuation is right-aligned", () => {
    const out = renderTable(
      ["Objective", "current"],
      [
        ["mean-latency <= 50.000", "true"],
        ["95th-percentile-tail-latency <= 100.000", "true"],
        ["error-rate <= 0.010", "true"],
      ],
    );
    assert.equal(
      out,
      lines(
        "+--------------------------------+---------+",
        "|           OBJECTIVE            | CURRENT |",
        "+--------------------------------+---------+",
        "| mean-latency <= 50.000         | true    |",
        "+--------------------------------+---------+",
        "| 95th-percentile-tail-latency   | true    |",
        "| <= 100.000                     |         |",
        "+--------------------------------+---------+",
        "| error-rate <= 0.010            | true    |",
        "+--------------------------------+---------+",
      ),
    );
  });
});

describe("renderTable layout rules", () => {
  it("a single word longer than 30 widens the column instead of breaking", () => {
    const word = "iter8-system/95th-percentile-tail-latency";
    const out = renderTable(["Metric", "v1"], [[word, "1.000"]]);
    const [top, , , row] = out.split("\n");
    assert.equal(top, `+${"-".repeat(word.length + 2)}+-------+`);
    assert.equal(row, `| ${word} | 1.000 |`);
  });

  it("a number on a wrapped continuation line is right-aligned, per line", () => {
    const out = renderTable(["x"], [["aaaaaaaaaa bbbbbbbbbb cccccccccc 12345"]]);
    assert.equal(
      out,
      lines(
        "+--------------------------------+",
        "|               X                |",
        "+--------------------------------+",
        "| aaaaaaaaaa bbbbbbbbbb          |",
        "| cccccccccc 12345               |",
        "+--------------------------------+",
      ),
    );
  });

  it("multi-line cells are reflowed into one paragraph, wrapped at their longest line", () => {
    const out = renderTable(["h"], [["one\ntwo"], ["a\nbb cc"]]);
    assert.equal(
      out,
      lines(
        "+-------+",
        "|   H   |",
        "+-------+",
        "| one   |",
        "| two   |",
        "+-------+",
        "| a bb  |",
        "| cc    |",
        "+-------+",
      ),
    );
  });

  it("a wrapped header is centred line by line and short cells get filler lines", () => {
    const out = renderTable(["aaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbb", "v"], [["x", "1"]]);
    assert.equal(
      out,
      lines(
        "+--------------------------------+---+",
        "|      AAAAAAAAAAAAAAAAAAAA      | V |",
        "|      BBBBBBBBBBBBBBBBBBBB      |   |",
        "+--------------------------------+---+",
        "| x                              | 1 |",
        "+--------------------------------+---+",
      ),
    );
  });

  it("without row lines only the bottom border closes the table", () => {
    const out = renderTable(
      ["a", "b"],
      [
        ["1", "x"],
        ["22", "y"],
      ],
      { rowLine: false },
    );
    assert.equal(
      out,
      lines("+----+---+", "| A  | B |", "+----+---+", "|  1 | x |", "| 22 | y |", "+----+---+"),
    );
  });

  it("a header-only table has just borders", () => {
    assert.equal(renderTable(["Metric"], []), lines("+--------+", "| METRIC |", "+--------+"));
  });

  it("rejects rows wider than the header", () => {
    assert.throws(() => renderTable(["a"], [["1", "2"]]), /row 0 has 2 cells but the header has 1 columns/);
  });

  it("uses display width for wide characters", () => {
    const out = renderTable(["版本"], [["值"]]);
    assert.equal(out, lines("+------+", "| 版本 |", "+------+", "| 值   |", "+------+"));
  });
});

describe("titleCase (header auto-format)", () => {
  const cases: Array<[string, string]> = [
    ["sample-app-v1", "SAMPLE-APP-V1"],
    ["my_version", "MY VERSION"],
    ["v1.2", "V1.2"],
    ["v.2", "V 2"],
    ["1.5", "1.5"],
    ["a.b", "A B"],
    [" .5", ".5"],
    ["x.", "X"],
    ["_", " "],
    ["", ""],
    ["straße", "STRAßE"],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () =>
      assert.equal(titleCase(input), expected));
  }
});

describe("wrapping", () => {
  it("chooses minimum raggedness, not greedy breaks", () => {
    // Greedy at 6 would give "aaa bb" / "cc" / "dddd"... minimum raggedness balances the lines.
    assert.deepEqual(wrapString("aaa bb cc dddddd", 6).lines, ["aaa", "bb cc", "dddddd"]);
  });

  it("keeps text that fits on one line", () => {
    assert.deepEqual(wrapString("mean-latency <= 50.000", 30).lines, ["mean-latency <= 50.000"]);
  });

  it("raises the limit to the widest word", () => {
    assert.deepEqual(wrapString("abcdefghij xy", 4), { lines: ["abcdefghij", "xy"], limit: 10 });
  });

  it("preserves empty words from repeated spaces", () => {
    assert.deepEqual(wrapString("a  b", 10).lines, ["a  b"]);
  });

  it("property: wrapping loses no words, and every line fits unless it is one over-long word", () => {
    const word = fc.stringMatching(/^[a-z0-9.<=-]{1,40}$/);
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 40 }),
        (words, limit) => {
          const result = wrapWords(words, 1, Math.max(limit, ...words.map((w) => w.length)), 1e5);
          assert.deepEqual(result.flat(), words);
          const lim = Math.max(limit, ...words.map((w) => w.length));
          for (const line of result) assert.ok(line.join(" ").length <= lim || line.length === 1);
        },
      ),
    );
  });
});

describe("helpers", () => {
  it("looksNumeric follows tablewriter's decimal pattern", () => {
    for (const s of ["0.000", "330.682", "-1", "1,234.5", " 12 ", "<= 100.000".slice(3)])
      assert.ok(looksNumeric(s), s);
    for (const s of ["24.454 *", "true", "unavailable", "1.", "50%", "<= 100.000", "1,23"]) {
      assert.ok(!looksNumeric(s), s);
    }
  });

  it("padCenter puts the odd space on the right", () => {
    assert.equal(padCenter("B", 8), "   B    ");
    assert.equal(padCenter("A", 5), "  A  ");
  });

  it("display width ignores ANSI colours and counts wide characters twice", () => {
    assert.equal(displayWidth("\u001b[31mred\u001b[0m"), 3);
    assert.equal(stringWidth("日本"), 4);
    assert.equal(stringWidth("e\u0301"), 1);
  });
});
