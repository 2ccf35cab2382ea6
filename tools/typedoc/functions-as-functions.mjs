// A typedoc plugin (typedoc.json's "plugin") for `npm run docs`: an export that is a
// function must be documented as a function. typedoc files `export const f = g` (an alias)
// or `export const f = (...) => ...` under "Variables", where a reader looking for the
// function does not find it. Each such export is an error here, and typedoc then stops, as
// on any warning (treatWarningsAsErrors): declare it with `function` (overloads where it
// has several forms) instead.
//
// Plain JavaScript because the Linux node that runs typedoc may be older than 22.18, which
// cannot strip types; it lives here so that `typedoc` resolves to tools/typedoc's copy.
import { Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    for (const reflection of context.project.getReflectionsByKind(ReflectionKind.Variable)) {
      const type = reflection.type;
      const callable = type?.type === 'reflection' && (type.declaration.signatures?.length ?? 0) > 0;
      if (!callable) continue;
      app.logger.error(
        `${reflection.getFriendlyFullName()} is exported as a variable holding a function, so the API reference lists it under Variables: declare it with \`function\` (with overloads for its forms)`,
      );
    }
  });
}
