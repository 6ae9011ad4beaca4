// A Dockerfile's instructions by stage, for the tests that check deploy/controller/Dockerfile.

export interface Instruction {
  op: string;
  args: string;
}

/** Instructions of a Dockerfile (comments dropped, `\` continuations joined), grouped by stage. */
export function parseDockerfile(text: string): { from: string; name?: string; body: Instruction[] }[] {
  const lines = text.split("\n").filter((l) => !/^\s*#/.test(l));
  const joined: string[] = [];
  let cur = "";
  for (const line of lines) {
    if (line.endsWith("\\")) cur += `${line.slice(0, -1)} `;
    else {
      cur += line;
      if (cur.trim()) joined.push(cur.trim());
      cur = "";
    }
  }
  const stages: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const l of joined) {
    const m = /^(\S+)\s+(.*)$/s.exec(l);
    if (!m) throw new Error(`unparseable Dockerfile line ${JSON.stringify(l)}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, " ");
    if (op === "FROM") {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(args);
      if (!f) throw new Error(`bad FROM ${args}`);
      stages.push({ from: f[1]!, ...(f[2] ? { name: f[2] } : {}), body: [] });
    } else if (op !== "ARG" || stages.length > 0) {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${op} before the first FROM`);
      stage.body.push({ op, args });
    }
  }
  return stages;
}
