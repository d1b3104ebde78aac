import '@xyflow/react/dist/style.css';
import './base.css';
import './jobs.css';
import './variables.css';
