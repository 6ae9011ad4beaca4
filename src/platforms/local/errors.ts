// Errors of the local platform that carry every problem found, each naming the file and field.

export class TutorialError extends Error {
  override readonly name = "TutorialError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}
