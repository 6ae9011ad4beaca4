// The message format every analysis piece carries:
// "Error: <e1>, <e2>; Warning: <w1>, …; Info: <i1>, …" with all three parts always present.

export interface MessageLog {
  errors: string[];
  warnings: string[];
  infos: string[];
}

export function newMessageLog(): MessageLog {
  return { errors: [], warnings: [], infos: [] };
}

export function formatMessages(log: MessageLog): string {
  return `Error: ${log.errors.join(", ")}; Warning: ${log.warnings.join(", ")}; Info: ${log.infos.join(", ")}`;
}
