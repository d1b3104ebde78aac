import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

/** The gettext domain of this extension's messages. */
const TRANSLATION_DOMAIN = 'jupyter_orchest';

/** The messages of the extension's React views, in the user's language. */
export const TranslationContext = React.createContext<TranslationBundle>(
  nullTranslator.load(TRANSLATION_DOMAIN)
);

export function useTrans(): TranslationBundle {
  return React.useContext(TranslationContext);
}
