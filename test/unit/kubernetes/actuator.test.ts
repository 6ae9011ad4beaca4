// fieldPath -> JSON pointer and reading values at pointers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fieldPathToPointer, valueAtPointer } from "../../../src/platforms/kubernetes/actuator.ts";

describe("weight field paths", () => {
  const cases: [string, string][] = [
    [".spec.traffic[1].percent", "/spec/traffic/1/percent"],
    [".spec.http[0].route[1].weight", "/spec/http/0/route/1/weight"],
    [".spec.backends[12].weight", "/spec/backends/12/weight"],
    [".spec.weight", "/spec/weight"],
  ];
  for (const [fp, ptr] of cases) {
    test(`${fp} -> ${ptr}`, () => assert.equal(fieldPathToPointer(fp), ptr));
  }
  test("a fieldPath not starting with '.' is rejected", () => {
    assert.throws(() => fieldPathToPointer("/spec/traffic/0/percent"), /must start with '.'/);
  });
  test("values are read at the pointer", () => {
    const obj = { spec: { http: [{ route: [{ weight: 100 }, { weight: 0 }] }] } };
    assert.equal(valueAtPointer(obj, "/spec/http/0/route/1/weight"), 0);
    assert.equal(valueAtPointer(obj, "/spec/http/1/route/0/weight"), undefined);
  });
});
