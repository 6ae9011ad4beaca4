// Errors of the local platform that carry every problem found, each naming the file and field.

export class ProblemsError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}

export class TutorialError extends ProblemsError {
  override readonly name = "TutorialError";
}
